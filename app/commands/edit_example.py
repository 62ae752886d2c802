"""Undoable edit of one example's text or class."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QUndoCommand

if TYPE_CHECKING:
    from app.example_table_model import ExampleTableModel
    from engine.project import Example


class EditExampleCommand(QUndoCommand):
    def __init__(self, model: ExampleTableModel, row: int, edited: Example):
        super().__init__()
        self._model = model
        self._row = row
        self._old = model.example(row)
        self._new = edited
        what = "text" if edited.text != self._old.text else "class"
        self.setText(f"Edit {what} of row {row + 1}")

    def redo(self) -> None:
        self._model.replace_example(self._row, self._new)

    def undo(self) -> None:
        self._model.replace_example(self._row, self._old)
