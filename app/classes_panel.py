"""The class list: add, rename, delete and merge classes, with counts and hints."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import prompts
from app.class_item_delegate import ClassItemDelegate
from app.document import Document
from app.message_banner import MessageBanner, MessageKind
from engine.training_state import plural


class ClassesPanel(QWidget):
    selection_changed = Signal()

    def __init__(self, document: Document, banner: MessageBanner, parent: QWidget | None = None):
        super().__init__(parent)
        self._document = document
        self._banner = banner
        title = QLabel("Classes")
        title.setObjectName("panelTitle")
        self.view = QListView()
        self.view.setModel(document.classes)
        self.view.setAccessibleName("Classes")
        self.view.setAccessibleDescription("The classes to teach, with how many examples each has")
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.view.setItemDelegate(ClassItemDelegate(self.view))
        self.view.setResizeMode(QListView.ResizeMode.Adjust)  # hints re-wrap to the new width
        self.view.setWordWrap(True)
        self.view.selectionModel().selectionChanged.connect(self.selection_changed)
        document.classes.rename_requested.connect(self._rename)
        document.classes.modelReset.connect(self.selection_changed)

        buttons = QHBoxLayout()
        buttons.setSpacing(4)
        for text, tip, slot in (
            ("Add", "Add a class (Ctrl+Shift+N)", self.add_class),
            ("Rename", "Rename the selected class (F2)", self.rename_selected),
            (
                "Delete",
                "Delete the selected classes and their examples (undo with Ctrl+Z)",
                self.delete_selected,
            ),
            ("Merge", "Merge the selected classes into one", self.merge_selected),
        ):
            button = QToolButton()
            button.setText(text)
            button.setToolTip(tip)
            button.setAccessibleName(f"{text} class")
            button.clicked.connect(slot)
            buttons.addWidget(button)
            setattr(self, f"{text.lower()}_button", button)
        buttons.addStretch(1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(title)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons)

    def selected_classes(self) -> list[str]:
        classes = self._document.class_names()
        rows = sorted(index.row() for index in self.view.selectionModel().selectedRows())
        return [classes[row] for row in rows if row < len(classes)]

    def current_class(self) -> str:
        """The class pasted plain lines go to: the selected one, else the only one, else ""."""
        selected = self.selected_classes()
        if selected:
            return selected[0]
        classes = self._document.class_names()
        return classes[0] if len(classes) == 1 else ""

    def select(self, name: str) -> None:
        classes = self._document.class_names()
        if name in classes:
            index = self._document.classes.index(classes.index(name))
            self.view.selectionModel().select(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            )
            self.view.setCurrentIndex(index)

    @Slot()
    def add_class(self) -> None:
        name = prompts.text(self, "Add class", "Name of the new class:")
        if name is not None:
            self.add_named_class(name)

    def add_named_class(self, name: str) -> bool:
        try:
            self._document.add_class(name)
        except ValueError as error:
            self._banner.show_error(str(error))
            return False
        self.select(name.strip())
        return True

    @Slot()
    def rename_selected(self) -> None:
        index = self.view.currentIndex()
        if not index.isValid():
            self._banner.show_error("Select a class to rename first.")
            return
        self.view.edit(index)

    @Slot(str, str)
    def _rename(self, old: str, new: str) -> None:
        try:
            self._document.rename_class(old, new)
        except ValueError as error:
            self._banner.show_error(str(error))
            return
        self.select(new)

    @Slot()
    def delete_selected(self) -> None:
        names = self.selected_classes()
        if not names:
            self._banner.show_error("Select the class(es) to delete first.")
            return
        stack = self._document.undo_stack
        stack.beginMacro(f"Delete {len(names)} class(es)")
        removed = sum(self._document.delete_class(name) for name in names)
        stack.endMacro()
        listed = ", ".join(repr(n) for n in names)
        self._banner.show_message(
            f"Deleted {listed} and {plural(removed, 'example')}. Undo with Ctrl+Z.",
            MessageKind.INFO,
        )

    @Slot()
    def merge_selected(self) -> None:
        names = self.selected_classes()
        if len(names) < 2:
            self._banner.show_error(
                "Select two or more classes to merge (Ctrl+click to add to the selection)."
            )
            return
        target = prompts.choice(self, "Merge classes", "Keep which class name?", names)
        if target is not None:
            self._document.merge_classes(names, target)
            self.select(target)
