"""The examples table with its buttons, and a hint of what to do while it is empty."""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QStackedLayout,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.document import Document
from app.example_table_model import Column
from app.label_delegate import LabelDelegate

EMPTY_HINT = (
    "<p style='font-size:15px'><b>No examples yet</b></p>"
    "<p>Paste lines with <b>Ctrl+V</b> (a text per line, or <i>text</i>⇥<i>class</i> as copied "
    "from a spreadsheet),<br>import a CSV, TSV or Excel file with <b>Ctrl+I</b>,<br>"
    "or drop a file on this window.</p>"
    "<p>A handful of examples per class is enough to start.</p>"
)


class ExamplesPanel(QWidget):
    def __init__(self, document: Document, actions: list[QAction], parent: QWidget | None = None):
        super().__init__(parent)
        self._document = document
        title = QLabel("Examples")
        title.setObjectName("panelTitle")
        self.summary = QLabel()
        self.summary.setObjectName("panelSummary")
        header = QHBoxLayout()
        header.addWidget(title)
        header.addWidget(self.summary, 1)
        for action in actions:
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            header.addWidget(button)

        self.view = QTableView()
        self.view.setTabKeyNavigation(False)  # Tab leaves the table for Train and Try it
        self.view.setModel(document.examples)
        self.view.setAccessibleName("Examples")
        self.view.setAccessibleDescription(
            "One row per example: its text, its class, and any problem found"
        )
        self.view.setItemDelegateForColumn(Column.LABEL, LabelDelegate(document.classes, self.view))
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        self.view.setWordWrap(False)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().setDefaultSectionSize(26)
        horizontal = self.view.horizontalHeader()
        horizontal.setSectionResizeMode(Column.TEXT, QHeaderView.ResizeMode.Stretch)
        horizontal.setSectionResizeMode(Column.LABEL, QHeaderView.ResizeMode.Interactive)
        horizontal.setSectionResizeMode(Column.CHECK, QHeaderView.ResizeMode.Interactive)
        horizontal.resizeSection(Column.LABEL, 130)
        horizontal.resizeSection(Column.CHECK, 190)

        self.empty_hint = QLabel(EMPTY_HINT)
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_hint.setObjectName("emptyHint")
        self.empty_hint.setWordWrap(True)
        self._stack = QStackedLayout()
        self._stack.addWidget(self.view)
        self._stack.addWidget(self.empty_hint)

        self.filter_note = QLabel()
        self.filter_note.setObjectName("panelSummary")
        self.show_all_button = QToolButton()
        self.show_all_button.setText("Show all")
        self.show_all_button.clicked.connect(self.clear_filter)
        self._filter_bar = QWidget()
        filter_layout = QHBoxLayout(self._filter_bar)
        filter_layout.setContentsMargins(0, 0, 0, 0)
        filter_layout.addWidget(self.filter_note, 1)
        filter_layout.addWidget(self.show_all_button)
        self._filter_bar.setVisible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self._filter_bar)
        layout.addLayout(self._stack, 1)

        model = document.examples
        for signal in (model.rowsInserted, model.rowsRemoved, model.modelReset, model.dataChanged):
            signal.connect(self._update_summary)
        for signal in (model.rowsInserted, model.rowsRemoved, model.modelReset):
            signal.connect(self.clear_filter)  # row numbers changed: the filter no longer fits
        self._update_summary()

    def filter_rows(self, rows: list[int], description: str) -> None:
        """Show only `rows` (e.g. one cell of the confusion matrix) until Show all."""
        shown = set(rows)
        for row in range(self._document.examples.rowCount()):
            self.view.setRowHidden(row, row not in shown)
        self.filter_note.setText(description)
        self._filter_bar.setVisible(True)

    @Slot()
    def clear_filter(self) -> None:
        for row in range(self._document.examples.rowCount()):
            self.view.setRowHidden(row, False)
        self._filter_bar.setVisible(False)

    def is_filtered(self) -> bool:
        return self._filter_bar.isVisibleTo(self)

    def selected_rows(self) -> list[int]:
        return sorted(index.row() for index in self.view.selectionModel().selectedRows())

    def insertion_row(self) -> int:
        """Below the current row when one is selected, else at the end."""
        rows = self.selected_rows()
        return rows[-1] + 1 if rows else self._document.examples.rowCount()

    def select_rows(self, first: int, count: int) -> None:
        model = self._document.examples
        if count <= 0 or first >= model.rowCount():
            return
        last = min(first + count, model.rowCount()) - 1
        selection = QItemSelection(model.index(first, 0), model.index(last, len(Column) - 1))
        self.view.selectionModel().select(
            selection,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.view.selectionModel().setCurrentIndex(
            model.index(first, Column.TEXT), QItemSelectionModel.SelectionFlag.NoUpdate
        )
        self.view.scrollTo(model.index(first, 0))

    @Slot()
    def _update_summary(self) -> None:
        model = self._document.examples
        rows = model.rowCount()
        flagged = sum(model.issue(row) is not None for row in range(rows))
        text = f"{rows} example{'s' if rows != 1 else ''}"
        if flagged:
            text += f" · {flagged} to check"
        self.summary.setText(text)
        self._stack.setCurrentWidget(self.view if rows else self.empty_hint)
