"""A live plot of meta-training: query loss (left axis) and query accuracy (right axis)."""

from __future__ import annotations

from PySide6.QtCharts import QChart, QChartView, QLineSeries, QValueAxis
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPainter, QPen


class MetaTrainChart(QChartView):
    def __init__(self, parent=None):
        self._chart = QChart()
        super().__init__(self._chart, parent)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setAccessibleName("Meta-training progress chart")
        self.setAccessibleDescription("Query loss and query accuracy per meta-training step")
        self.setMinimumHeight(220)
        self._chart.setTitle("Query loss and accuracy")
        self._chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        self._chart.setMargins(self._chart.margins() * 0)
        self.loss = QLineSeries(name="query loss")
        self.accuracy = QLineSeries(name="query accuracy")
        self.loss.setPen(QPen(QColor("#c62828"), 2))
        self.accuracy.setPen(QPen(QColor("#2e7d32"), 2))
        self._chart.addSeries(self.loss)
        self._chart.addSeries(self.accuracy)
        self.steps_axis = QValueAxis()
        self.steps_axis.setTitleText("step")
        self.steps_axis.setLabelFormat("%d")
        self.loss_axis = QValueAxis()
        self.loss_axis.setTitleText("loss")
        self.loss_axis.setLabelFormat("%.2f")
        self.accuracy_axis = QValueAxis()
        self.accuracy_axis.setTitleText("accuracy")
        self.accuracy_axis.setRange(0.0, 1.0)
        self.accuracy_axis.setLabelFormat("%.1f")
        self._chart.addAxis(self.steps_axis, Qt.AlignmentFlag.AlignBottom)
        self._chart.addAxis(self.loss_axis, Qt.AlignmentFlag.AlignLeft)
        self._chart.addAxis(self.accuracy_axis, Qt.AlignmentFlag.AlignRight)
        for series, axis in ((self.loss, self.loss_axis), (self.accuracy, self.accuracy_axis)):
            series.attachAxis(self.steps_axis)
            series.attachAxis(axis)
        self.clear()

    def clear(self, total_steps: int = 10) -> None:
        self.loss.clear()
        self.accuracy.clear()
        self.steps_axis.setRange(0, max(total_steps, 1))
        self.loss_axis.setRange(0.0, 1.0)
        self._max_loss = 0.0

    def add_point(self, step: int, loss: float | None, accuracy: float | None, total: int) -> None:
        self.steps_axis.setRange(0, max(total, step, 1))
        if loss is not None:
            self.loss.append(step, loss)
            self._max_loss = max(self._max_loss, loss)
            self.loss_axis.setRange(0.0, max(self._max_loss * 1.1, 0.1))
        if accuracy is not None:
            self.accuracy.append(step, accuracy)

    def points(self) -> int:
        return self.loss.count()
