"""Undoable changes to the unlabeled pool: texts added, texts taken out (labeled)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QUndoCommand

if TYPE_CHECKING:
    from app.pool_model import PoolModel


class AddPoolTextsCommand(QUndoCommand):
    def __init__(self, model: PoolModel, texts: list[str], text: str):
        super().__init__(text)
        self._model, self._texts = model, list(texts)
        self._position = 0

    def redo(self) -> None:
        self._position = len(self._model.texts())
        self._model.insert_texts(self._position, self._texts)

    def undo(self) -> None:
        end = self._position + len(self._texts)
        self._model.remove_positions(list(range(self._position, end)))


class RemovePoolTextsCommand(QUndoCommand):
    def __init__(self, model: PoolModel, positions: list[int], text: str = ""):
        super().__init__(text or "Remove texts from the pool")
        self._model, self._positions = model, list(positions)
        self._removed: list[tuple[int, str]] = []

    def redo(self) -> None:
        self._removed = self._model.remove_positions(self._positions)

    def undo(self) -> None:
        self._model.restore(self._removed)
