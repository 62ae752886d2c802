"""A live plot of meta-training: query loss (left axis) and query accuracy (right axis)."""

from __future__ import annotations

from PySide6.QtCharts import QChart, QChartView, QLineSeries, QValueAxis
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPainter, QPen

MAX_STEP_TICKS = 10


def step_tick_interval(total: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50... that labels 0..total in at most MAX_STEP_TICKS
    intervals: ticks fall on whole steps, never on 2.5."""
    magnitude = 1
    while True:
        for multiple in (1, 2, 5):
            if total <= multiple * magnitude * MAX_STEP_TICKS:
                return multiple * magnitude
        magnitude *= 10


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
        self.steps_axis.setTickType(QValueAxis.TickType.TicksDynamic)
        self.steps_axis.setTickAnchor(0)
        self.loss_axis = QValueAxis()
        self.loss_axis.setTitleText("loss")
        self.loss_axis.setLabelFormat("%.2f")
        self.accuracy_axis = QValueAxis()
        self.accuracy_axis.setTitleText("accuracy (%)")  # percent: round labels 0, 20... 100
        self.accuracy_axis.setRange(0.0, 100.0)
        self.accuracy_axis.setTickCount(6)
        self.accuracy_axis.setLabelFormat("%d")
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
        self._set_steps(total_steps)
        self.loss_axis.setRange(0.0, 1.0)
        self._max_loss = 0.0

    def _set_steps(self, total: int) -> None:
        total = max(total, 1)
        self.steps_axis.setRange(0, total)
        self.steps_axis.setTickInterval(step_tick_interval(total))

    def add_point(self, step: int, loss: float | None, accuracy: float | None, total: int) -> None:
        """`accuracy` is a fraction (0.6), plotted as a percentage (60)."""
        self._set_steps(max(total, step))
        if loss is not None:
            self.loss.append(step, loss)
            self._max_loss = max(self._max_loss, loss)
            self.loss_axis.setRange(0.0, max(self._max_loss * 1.1, 0.1))
            self.loss_axis.applyNiceNumbers()  # round loss ticks too
        if accuracy is not None:
            self.accuracy.append(step, accuracy * 100)

    def points(self) -> int:
        return self.loss.count()
