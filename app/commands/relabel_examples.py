"""Undoable change of many examples' classes at once (rename or merge classes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QUndoCommand

if TYPE_CHECKING:
    from app.example_table_model import ExampleTableModel


class RelabelExamplesCommand(QUndoCommand):
    def __init__(self, model: ExampleTableModel, mapping: dict[str, str], text: str = ""):
        super().__init__(text or "Change classes")
        self._model = model
        examples = model.examples()
        self._old = {r: e.label for r, e in enumerate(examples) if e.label in mapping}
        self._new = {r: mapping[label] for r, label in self._old.items()}

    def redo(self) -> None:
        self._model.set_labels(self._new)

    def undo(self) -> None:
        self._model.set_labels(self._old)
