"""A read-only table model over the first rows of a file, for column pickers."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

Index = QModelIndex | QPersistentModelIndex
MAX_CELL_CHARS = 200


class TablePreviewModel(QAbstractTableModel):
    """Rows as plain lists of strings; `highlighted` columns are shown in bold."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._columns: list[str] = []
        self._rows: list[list[str]] = []
        self.highlighted: set[str] = set()

    def set_table(self, columns: list[str], rows: list[list[str]]) -> None:
        self.beginResetModel()
        self._columns, self._rows = list(columns), [list(row) for row in rows]
        self.endResetModel()

    def set_highlighted(self, columns: set[str]) -> None:
        self.highlighted = set(columns)
        if self._rows:
            self.dataChanged.emit(
                self.index(0, 0), self.index(len(self._rows) - 1, len(self._columns) - 1)
            )
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, max(len(self._columns) - 1, 0))

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        value = self._rows[index.row()][index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return value if len(value) <= MAX_CELL_CHARS else value[:MAX_CELL_CHARS] + "…"
        if role == Qt.ItemDataRole.ToolTipRole:
            return value
        if role == Qt.ItemDataRole.FontRole and self._columns[index.column()] in self.highlighted:
            return _bold()
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ):
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self._columns):
            if role == Qt.ItemDataRole.DisplayRole:
                return self._columns[section]
            if role == Qt.ItemDataRole.FontRole and self._columns[section] in self.highlighted:
                return _bold()
        if orientation == Qt.Orientation.Vertical and role == Qt.ItemDataRole.DisplayRole:
            return str(section + 1)
        return None


def fit_columns(view, max_width: int = 320) -> None:
    """Size a preview's columns to their contents, but keep long texts from taking it all."""
    view.resizeColumnsToContents()
    header = view.horizontalHeader()
    for column in range(header.count()):
        header.resizeSection(column, min(header.sectionSize(column) + 12, max_width))
    header.setStretchLastSection(True)
    view.verticalHeader().setDefaultSectionSize(24)


def _bold():
    from PySide6.QtGui import QFont

    font = QFont()
    font.setBold(True)
    return font
