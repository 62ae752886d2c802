"""The examples table: a QAbstractTableModel over a plain list of engine.project.Example."""

from __future__ import annotations

import dataclasses
from enum import Enum, IntEnum
from typing import TYPE_CHECKING

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QUndoStack

from app.commands.edit_example import EditExampleCommand

if TYPE_CHECKING:  # the engine (and torch) is imported in the background, not at start-up
    from engine.project import Example

Index = QModelIndex | QPersistentModelIndex


class Column(IntEnum):
    TEXT = 0
    LABEL = 1
    CHECK = 2


HEADERS = {Column.TEXT: "Text", Column.LABEL: "Class", Column.CHECK: "Check"}


class Issue(Enum):
    """What is wrong with a row, worst first; the colour tells at a glance, the note says it."""

    CONFLICT = QColor("#fbe3e1")  # same text, different classes: the classifier cannot satisfy both
    EMPTY = QColor("#eeeeee")
    UNLABELED = QColor("#fff3d6")
    DUPLICATE = QColor("#fff8e6")
    MISPREDICTED = QColor("#f3e8fb")  # cross-validation got it wrong: mislabeled, or hard


TOOLTIPS = {  # the Check column is narrow: its text is short, the tooltip says what to do
    Issue.EMPTY: "This example has no text: it is left out when training. Type a text or "
    "delete it.",
    Issue.UNLABELED: "This example has no class yet: it is left out when training. Pick its "
    "class in the Class column.",
    Issue.MISPREDICTED: "A classifier that had not seen this example (cross-validation) put it "
    "in another class. Check its class; if it is right, similar examples help.",
}


class ExampleTableModel(QAbstractTableModel):
    """Rows are examples; edits from the view become undo commands on `undo_stack`.

    The methods under "primitives" change the list directly and are called only by undo
    commands, so every user-visible change can be undone.
    """

    def __init__(self, undo_stack: QUndoStack, parent=None):
        super().__init__(parent)
        self._undo_stack = undo_stack
        self._examples: list[Example] = []
        self._issues: list[tuple[Issue, str] | None] = []
        self._mispredicted: dict[tuple[str, str], str] = {}  # (text, label) -> predicted

    # ---- Qt model interface -----------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._examples)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._examples):
            return None
        example, issue = self._examples[index.row()], self._issues[index.row()]
        column = Column(index.column())
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            if column is Column.TEXT:
                return example.text
            if column is Column.LABEL:
                return example.label
            return issue[1] if issue else ""
        if role == Qt.ItemDataRole.ToolTipRole:
            if issue:
                return TOOLTIPS.get(issue[0], issue[1])
            return example.text if column is Column.TEXT else None
        if role == Qt.ItemDataRole.BackgroundRole and issue:
            return issue[0].value
        if role == Qt.ItemDataRole.ForegroundRole and column is Column.CHECK:
            return QColor("#8a4b00")
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ):
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return HEADERS[Column(section)]
        return str(section + 1)

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if Column(index.column()) is not Column.CHECK:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def setData(self, index: Index, value, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        column = Column(index.column())
        if column is Column.CHECK:
            return False
        example = self._examples[index.row()]
        field = "text" if column is Column.TEXT else "label"
        value = str(value) if field == "text" else str(value).strip()
        if getattr(example, field) == value:
            return False
        edited = dataclasses.replace(example, **{field: value})
        self._undo_stack.push(EditExampleCommand(self, index.row(), edited))
        return True

    # ---- reading ----------------------------------------------------------------------
    def examples(self) -> list[Example]:
        return list(self._examples)

    def example(self, row: int) -> Example:
        return self._examples[row]

    def issue(self, row: int) -> tuple[Issue, str] | None:
        return self._issues[row]

    def rows_with_label(self, label: str) -> list[int]:
        return [row for row, example in enumerate(self._examples) if example.label == label]

    # ---- primitives (undo commands only) ----------------------------------------------
    def insert_examples(self, row: int, examples: list[Example]) -> None:
        if not examples:
            return
        self.beginInsertRows(QModelIndex(), row, row + len(examples) - 1)
        self._examples[row:row] = examples
        self._issues[row:row] = [None] * len(examples)
        self.endInsertRows()
        self._recheck()

    def remove_rows(self, rows: list[int]) -> list[tuple[int, Example]]:
        """Remove rows (any order); return (row, example) pairs, ascending, for restore_rows."""
        removed: list[tuple[int, Example]] = []
        for first, last in reversed(runs(sorted(set(rows)))):  # bottom up: indices stay valid
            self.beginRemoveRows(QModelIndex(), first, last)
            removed[:0] = list(
                zip(range(first, last + 1), self._examples[first : last + 1], strict=True)
            )
            del self._examples[first : last + 1]
            del self._issues[first : last + 1]
            self.endRemoveRows()
        self._recheck()
        return removed

    def restore_rows(self, removed: list[tuple[int, Example]]) -> None:
        """Put back what remove_rows returned, each example at its old row."""
        by_row = dict(removed)
        for first, last in runs(sorted(by_row)):  # top down: each run lands where it was
            self.beginInsertRows(QModelIndex(), first, last)
            self._examples[first:first] = [by_row[row] for row in range(first, last + 1)]
            self._issues[first:first] = [None] * (last - first + 1)
            self.endInsertRows()
        self._recheck()

    def replace_example(self, row: int, example: Example) -> None:
        self._examples[row] = example
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(Column) - 1))
        self._recheck()

    def set_labels(self, labels: dict[int, str]) -> None:
        for row, label in labels.items():
            self._examples[row] = dataclasses.replace(self._examples[row], label=label)
        self._recheck()

    def reset(self, examples: list[Example]) -> None:
        self.beginResetModel()
        self._examples = list(examples)
        self._issues = [None] * len(examples)
        self.endResetModel()
        self._recheck()

    # ---- checks -----------------------------------------------------------------------
    def set_mispredicted(self, mispredicted: dict[tuple[str, str], str]) -> None:
        """What cross-validation predicted for the examples it got wrong."""
        self._mispredicted = dict(mispredicted)
        self._recheck()

    def rows_mispredicted(self, true: str, predicted: str) -> list[int]:
        """Rows of class `true` that cross-validation put in `predicted` (right ones too when
        true == predicted)."""
        return [
            row
            for row, e in enumerate(self._examples)
            if e.label == true
            and self._mispredicted.get((e.text, e.label), e.label if true == predicted else None)
            == predicted
        ]

    def _recheck(self) -> None:
        """Recompute every row's issue: duplicates depend on all rows, and this is O(rows)."""
        self._issues = find_issues(self._examples)
        for row, example in enumerate(self._examples):
            predicted = self._mispredicted.get((example.text, example.label))
            if predicted is not None and self._issues[row] is None:
                note = f"Predicted {predicted} in cross-validation"
                self._issues[row] = (Issue.MISPREDICTED, note)
        if self._examples:
            last = self.index(len(self._examples) - 1, len(Column) - 1)
            self.dataChanged.emit(self.index(0, 0), last)


def runs(rows: list[int]) -> list[tuple[int, int]]:
    """Sorted row numbers -> (first, last) of each consecutive run: one model signal per run."""
    result: list[tuple[int, int]] = []
    for row in rows:
        if result and result[-1][1] == row - 1:
            result[-1] = (result[-1][0], row)
        else:
            result.append((row, row))
    return result


def find_issues(examples: list[Example]) -> list[tuple[Issue, str] | None]:
    groups: dict[str, list[int]] = {}
    for row, example in enumerate(examples):
        key = " ".join(example.text.casefold().split())
        if key:
            groups.setdefault(key, []).append(row)
    issues: list[tuple[Issue, str] | None] = [None] * len(examples)
    for rows in groups.values():
        if len(rows) < 2:
            continue
        labels = {examples[row].label for row in rows}
        for row in rows:
            others = ", ".join(str(other + 1) for other in rows if other != row)
            if len(labels) > 1:
                issues[row] = (Issue.CONFLICT, f"Same text as row {others} with another class")
            else:
                issues[row] = (Issue.DUPLICATE, f"Duplicate of row {others}")
    for row, example in enumerate(examples):
        if not example.text.strip():
            issues[row] = (Issue.EMPTY, "Empty text (ignored)")
        elif not example.label and issues[row] is None:
            issues[row] = (Issue.UNLABELED, "No class yet (ignored)")
    return issues
