"""Undo commands: every edit of the examples or classes is one of these on the QUndoStack."""
