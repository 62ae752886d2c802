"""Every question the app asks the user, in one place: file pickers and yes/no questions.

These are the only modal calls in the app. Tests replace them with monkeypatch (they would
block an offscreen run), so every caller goes through this module's functions.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

PROJECT_FILTER = "Fewshot Studio projects (*.fewshot.json);;All files (*)"
TABLE_FILTER = "Tables (*.csv *.tsv *.txt *.xlsx);;All files (*)"
CLASSIFIER_FILTER = "Classifier files (*.safetensors);;All files (*)"


def open_path(parent: QWidget, caption: str, folder: str, filters: str) -> Path | None:
    path, _ = QFileDialog.getOpenFileName(parent, caption, folder, filters)
    return Path(path) if path else None


def save_path(parent: QWidget, caption: str, suggested: str, filters: str) -> Path | None:
    path, _ = QFileDialog.getSaveFileName(parent, caption, suggested, filters)
    return Path(path) if path else None


def folder_path(parent: QWidget, caption: str, folder: str) -> Path | None:
    path = QFileDialog.getExistingDirectory(parent, caption, folder)
    return Path(path) if path else None


def text(parent: QWidget, title: str, label: str, value: str = "") -> str | None:
    answer, ok = QInputDialog.getText(parent, title, label, text=value)
    return answer.strip() if ok and answer.strip() else None


def choice(parent: QWidget, title: str, label: str, options: list[str]) -> str | None:
    answer, ok = QInputDialog.getItem(parent, title, label, options, 0, False)
    return answer if ok else None


def yes_no(parent: QWidget, title: str, question: str) -> bool:
    answer = QMessageBox.question(
        parent,
        title,
        question,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.Yes,
    )
    return answer == QMessageBox.StandardButton.Yes


class UnsavedChoice(Enum):
    SAVE = "save"
    DISCARD = "discard"
    CANCEL = "cancel"


def unsaved_changes(parent: QWidget, title: str, question: str) -> UnsavedChoice:
    answer = QMessageBox.question(
        parent,
        title,
        question,
        QMessageBox.StandardButton.Save
        | QMessageBox.StandardButton.Discard
        | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Save,
    )
    return {
        QMessageBox.StandardButton.Save: UnsavedChoice.SAVE,
        QMessageBox.StandardButton.Discard: UnsavedChoice.DISCARD,
    }.get(answer, UnsavedChoice.CANCEL)
