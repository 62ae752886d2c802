"""Undoable change of the class list (add, rename, delete, merge, or new labels on paste)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QUndoCommand

if TYPE_CHECKING:
    from app.class_list_model import ClassListModel


class SetClassesCommand(QUndoCommand):
    def __init__(self, model: ClassListModel, classes: list[str], text: str = ""):
        super().__init__(text or "Change classes")
        self._model = model
        self._old = model.classes()
        self._new = list(classes)

    def redo(self) -> None:
        self._model.set_classes(self._new)

    def undo(self) -> None:
        self._model.set_classes(self._old)
