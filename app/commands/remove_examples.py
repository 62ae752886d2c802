"""Undoable removal of rows, which need not be adjacent."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QUndoCommand

from engine.training_state import plural

if TYPE_CHECKING:
    from app.example_table_model import ExampleTableModel


class RemoveExamplesCommand(QUndoCommand):
    def __init__(self, model: ExampleTableModel, rows: list[int], text: str = ""):
        super().__init__(text or f"Delete {plural(len(set(rows)), 'example')}")
        self._model = model
        self._rows = sorted(set(rows))
        self._removed = []

    def redo(self) -> None:
        self._removed = self._model.remove_rows(self._rows)

    def undo(self) -> None:
        self._model.restore_rows(self._removed)
