"""Fewshot Studio desktop application (PySide6). Everything it computes goes through `engine`."""
