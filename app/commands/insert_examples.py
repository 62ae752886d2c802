"""Undoable insertion of examples (paste, import, add row)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QUndoCommand

if TYPE_CHECKING:
    from app.example_table_model import ExampleTableModel
    from engine.project import Example


class InsertExamplesCommand(QUndoCommand):
    def __init__(self, model: ExampleTableModel, row: int, examples: list[Example], text: str):
        super().__init__(text)
        self._model = model
        self._row = row
        self._examples = list(examples)

    def redo(self) -> None:
        self._model.insert_examples(self._row, self._examples)

    def undo(self) -> None:
        self._model.remove_rows(list(range(self._row, self._row + len(self._examples))))
