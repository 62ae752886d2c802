"""Help > About: the same versions, device, backbone and checkpoint that `fewshot info` prints."""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.jobs import LoadedModel


def installation_text(model: LoadedModel | None) -> str:
    from engine.about import describe_installation, version_line
    from engine.locations import ActiveMeta

    if model is None:
        return version_line("fewshot-studio") + "\nThe model is still loading."
    active = ActiveMeta(model.meta, model.meta_folder, model.warning)
    return "\n".join(describe_installation(model.backbone, active).lines())


class AboutDialog(QDialog):
    def __init__(self, model: LoadedModel | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("About Fewshot Studio")
        intro = QLabel(
            "Fewshot Studio teaches a text classifier from a handful of examples per class "
            "(Meta-Adapters on a frozen encoder). Quote the lines below in a bug report."
        )
        intro.setWordWrap(True)
        self.details = QPlainTextEdit(installation_text(model))
        self.details.setReadOnly(True)
        self.details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.details.setMinimumSize(720, 260)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = buttons.addButton("Copy", QDialogButtonBox.ButtonRole.ActionRole)
        copy.clicked.connect(
            lambda: QGuiApplication.clipboard().setText(self.details.toPlainText())
        )
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.details, 1)
        layout.addWidget(buttons)
