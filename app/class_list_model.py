"""The class list with example counts and a hint of how many more examples would help."""

from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, Signal

Index = QModelIndex | QPersistentModelIndex
GOOD_START = 8  # examples per class where one-click training gets reliably useful
COUNT_ROLE = Qt.ItemDataRole.UserRole + 1
HINT_ROLE = Qt.ItemDataRole.UserRole + 2


def hint(count: int) -> str:
    if count == 0:
        return f"add {GOOD_START} examples for a good start"
    if count < GOOD_START:
        return f"{GOOD_START - count} more for a good start"
    if count < 2 * GOOD_START:
        return "good start; more examples help"
    return "plenty of examples"


class ClassListModel(QAbstractListModel):
    """A list model over class names; counts come from the examples table via set_counts().

    Renaming in the view does not change the list: it emits rename_requested so the
    document can make it an undoable command (which also relabels the examples).
    """

    rename_requested = Signal(str, str)  # old name, new name

    def __init__(self, parent=None):
        super().__init__(parent)
        self._classes: list[str] = []
        self._counts: dict[str, int] = {}

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._classes)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._classes):
            return None
        name = self._classes[index.row()]
        count = self._counts.get(name, 0)
        if role == Qt.ItemDataRole.DisplayRole:
            noun = "example" if count == 1 else "examples"
            return f"{name}\n{count} {noun} · {hint(count)}"
        if role == Qt.ItemDataRole.EditRole:
            return name
        if role in (Qt.ItemDataRole.ToolTipRole, HINT_ROLE):
            return hint(count)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{name}, {count} examples, {hint(count)}"
        if role == COUNT_ROLE:
            return count
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEditable

    def setData(self, index: Index, value, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        old, new = self._classes[index.row()], str(value).strip()
        if new and new != old:
            self.rename_requested.emit(old, new)
        return False  # the command changes the list, if the rename is allowed

    def classes(self) -> list[str]:
        return list(self._classes)

    def count(self, name: str) -> int:
        return self._counts.get(name, 0)

    def set_classes(self, classes: list[str]) -> None:
        self.beginResetModel()
        self._classes = list(classes)
        self.endResetModel()

    def set_counts(self, counts: dict[str, int]) -> None:
        if counts != self._counts:
            self._counts = dict(counts)
            if self._classes:
                self.dataChanged.emit(self.index(0), self.index(len(self._classes) - 1))
