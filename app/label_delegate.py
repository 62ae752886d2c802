"""Chooses an example's class from a drop-down of the project's classes."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, QModelIndex, Qt
from PySide6.QtWidgets import QComboBox, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from app.class_list_model import ClassListModel

NO_CLASS = "(no class)"


class LabelDelegate(QStyledItemDelegate):
    def __init__(self, classes: ClassListModel, parent=None):
        super().__init__(parent)
        self._classes = classes

    def createEditor(
        self, parent: QWidget, option: QStyleOptionViewItem, index: QModelIndex
    ) -> QWidget:
        editor = QComboBox(parent)
        editor.setAccessibleName("Class of this example")
        editor.addItems(self._classes.classes() or [NO_CLASS])
        # Choosing an entry is the whole edit: commit and close without an extra Enter.
        editor.activated.connect(lambda _=None, e=editor: self._commit(e))
        return editor

    def setEditorData(self, editor: QComboBox, index: QModelIndex) -> None:
        position = editor.findText(str(index.data(Qt.ItemDataRole.EditRole) or ""))
        editor.setCurrentIndex(max(position, 0))

    def setModelData(
        self, editor: QComboBox, model: QAbstractItemModel, index: QModelIndex
    ) -> None:
        label = editor.currentText()
        if label != NO_CLASS:
            model.setData(index, label, Qt.ItemDataRole.EditRole)

    def _commit(self, editor: QComboBox) -> None:
        self.commitData.emit(editor)
        self.closeEditor.emit(editor, QStyledItemDelegate.EndEditHint.NoHint)
