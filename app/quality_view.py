"""The quality estimate: overall accuracy, per-class accuracy and a small confusion matrix."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractScrollArea,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from engine.evaluation import QualityReport

MAX_MATRIX_CLASSES = 12  # beyond this the matrix is unreadable in a side panel; per-class stays


def cell_colour(share: float, diagonal: bool) -> QColor:
    """Green on the diagonal (right), red elsewhere (confusions), stronger for larger shares."""
    base = QColor("#2e7d32") if diagonal else QColor("#c62828")
    colour = QColor(base)
    colour.setAlphaF(0.10 + 0.55 * share if share > 0 else 0.0)
    return colour


class QualityView(QWidget):
    cell_chosen = Signal(str, str)  # true class, predicted class: show those examples

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._classes: list[str] = []
        self.headline = QLabel()
        self.headline.setObjectName("qualityHeadline")
        self.explanation = QLabel()
        self.explanation.setWordWrap(True)
        self.table = QTableWidget()
        self.table.setAccessibleName("Confusion matrix")
        self.table.setAccessibleDescription(
            "Rows: the true class. Columns: the class predicted, then the share right."
        )
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        # As tall as its rows (up to a limit), not as tall as the panel: no grey void below.
        self.table.setSizeAdjustPolicy(QAbstractScrollArea.SizeAdjustPolicy.AdjustToContents)
        self.table.setMaximumHeight(320)
        self.table.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.table.setShowGrid(False)
        self.table.cellClicked.connect(self._clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.headline)
        layout.addWidget(self.explanation)
        layout.addWidget(self.table)
        layout.addStretch(1)
        self.show_note("")

    def show_note(self, note: str) -> None:
        """No estimate: say why (too few examples, cancelled, not trained yet)."""
        self.headline.setText("")
        self.headline.setVisible(False)
        self.explanation.setText(note)
        self.explanation.setVisible(bool(note))
        self.table.setVisible(False)

    def show_report(self, report: QualityReport, *, out_of_date: bool = False) -> None:
        """`out_of_date`: the examples changed since; the figures describe the older classifier."""
        headline = f"Estimated accuracy: {report.accuracy:.0%}"
        self.headline.setText(headline + (" (before your latest changes)" if out_of_date else ""))
        self.headline.setEnabled(not out_of_date)
        self.headline.setVisible(True)
        weakest = report.weakest_class()
        advice = ""
        if report.per_class_accuracy[weakest] < 1.0:
            advice = f" Examples of {weakest!r} are missed most: adding more of them helps most."
        if out_of_date:
            advice = " Train again to measure the classifier on the examples as they are now."
        self.explanation.setText(report.summary() + advice)
        self.table.setEnabled(not out_of_date)
        self.explanation.setVisible(True)
        self._fill(report)

    def _clicked(self, row: int, column: int) -> None:
        if column < len(self._classes):  # not the "right" column
            self.cell_chosen.emit(self._classes[row], self._classes[column])

    def _fill(self, report: QualityReport) -> None:
        classes = report.classes
        self._classes = list(classes) if len(classes) <= MAX_MATRIX_CLASSES else []
        show_matrix = len(classes) <= MAX_MATRIX_CLASSES
        columns = (classes if show_matrix else []) + ["right"]
        self.table.clear()
        self.table.setRowCount(len(classes))
        self.table.setColumnCount(len(columns))
        self.table.setHorizontalHeaderLabels([f"→ {c}" for c in columns[:-1]] + ["right"])
        self.table.setVerticalHeaderLabels(classes)
        for row, true_class in enumerate(classes):
            total = max(sum(report.confusion[row]), 1)
            if show_matrix:
                for column in range(len(classes)):
                    count = report.confusion[row][column]
                    item = QTableWidgetItem(str(count))
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                    item.setBackground(cell_colour(count / total, row == column))
                    item.setToolTip(
                        f"{count} of {total} {true_class!r} examples were predicted as "
                        f"{classes[column]!r}. Click to show them."
                    )
                    self.table.setItem(row, column, item)
            share = report.per_class_accuracy[true_class]
            item = QTableWidgetItem(f"{share:.0%}")
            item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            item.setToolTip(f"Share of {true_class!r} examples classified correctly")
            self.table.setItem(row, len(columns) - 1, item)
        self.table.setVisible(True)
