"""The unlabeled pool as a table: text, suggested class, confidence, in queue order."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

Index = QModelIndex | QPersistentModelIndex
COLUMNS = ("Text", "Suggested class", "Confidence")


class PoolModel(QAbstractTableModel):
    """Texts in pool order underneath; rows are shown in the latest queue's order (texts
    the queue has not ranked yet come last, in pool order).

    Suggestions are kept per text, so removing a labeled text leaves the others' intact.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self._texts: list[str] = []
        self._suggested: dict[str, tuple[str, float]] = {}  # text -> (class, confidence)
        self._rank: dict[str, int] = {}  # text -> place in the latest queue
        self._rows: list[int] = []  # display row -> pool index

    # ---- reading ----------------------------------------------------------------------
    def texts(self) -> list[str]:
        return list(self._texts)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(COLUMNS)

    def text_at(self, row: int) -> str:
        return self._texts[self._rows[row]]

    def queue(self) -> list[str]:
        """The texts in display (queue) order."""
        return [self._texts[i] for i in self._rows]

    def suggestion(self, text: str) -> tuple[str, float] | None:
        return self._suggested.get(text)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        text = self.text_at(index.row())
        suggested = self._suggested.get(text)
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if index.column() == 0:
                return text
            if suggested is None:
                return ""
            return suggested[0] if index.column() == 1 else f"{suggested[1]:.0%}"
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        return COLUMNS[section] if orientation == Qt.Orientation.Horizontal else str(section + 1)

    # ---- changes (through the document's undoable commands) ---------------------------
    def reset(self, texts: list[str]) -> None:
        self.beginResetModel()
        self._texts = list(texts)
        self._suggested, self._rank = {}, {}
        self._order_rows()
        self.endResetModel()

    def insert_texts(self, position: int, texts: list[str]) -> None:
        self.beginResetModel()
        self._texts[position:position] = texts
        self._order_rows()
        self.endResetModel()

    def remove_positions(self, positions: list[int]) -> list[tuple[int, str]]:
        """Remove pool positions; returns (position, text) pairs, ascending, to undo with."""
        removed = [(p, self._texts[p]) for p in sorted(set(positions))]
        self.beginResetModel()
        for position, _ in reversed(removed):
            del self._texts[position]
        self._order_rows()
        self.endResetModel()
        return removed

    def restore(self, removed: list[tuple[int, str]]) -> None:
        self.beginResetModel()
        for position, text in removed:
            self._texts.insert(position, text)
        self._order_rows()
        self.endResetModel()

    def set_suggestions(self, queue: list[str], suggested: dict[str, tuple[str, float]]) -> None:
        """A new queue (texts best first) and the suggestion of each text."""
        self.beginResetModel()
        self._suggested = dict(suggested)
        self._rank = {text: rank for rank, text in enumerate(queue)}
        self._order_rows()
        self.endResetModel()

    def _order_rows(self) -> None:
        last = len(self._rank)
        self._rows = sorted(
            range(len(self._texts)), key=lambda i: (self._rank.get(self._texts[i], last), i)
        )
