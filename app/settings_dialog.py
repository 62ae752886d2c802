"""Settings: device (per user), backbone and meta-adapter checkpoint (per project)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app import prompts
from app.message_banner import MessageBanner
from app.model_host import ModelHost

if TYPE_CHECKING:
    from engine.metatrain import StoppedRun
    from engine.project import ProjectSettings

DEVICE_NAMES = {
    "auto": "Automatic (GPU if there is one)",
    "cuda": "NVIDIA GPU (CUDA)",
    "mps": "Apple GPU (MPS)",
    "cpu": "CPU",
}


def checkpoint_title(
    folder: Path, summary: dict, fingerprint: str | None, stopped: StoppedRun | None = None
) -> str:
    name = summary.get("name", folder.name)
    training = summary.get("training") or {}
    detail = "untrained" if not training else f"{summary.get('steps', '?')} inner steps"
    if stopped is not None:  # usable, but a finished run would be better
        detail = f"stopped at step {stopped.steps_done} of {stopped.steps_planned}; resume"
    if fingerprint and summary.get("backbone_fingerprint") != fingerprint:
        detail += ", for another backbone"
    return f"{name} ({detail}) — {folder}"


class SettingsDialog(QDialog):
    def __init__(
        self, device: str, settings: ProjectSettings, host: ModelHost, parent: QWidget | None = None
    ):
        from engine.backbone import DEFAULT_BACKBONE, available_devices

        super().__init__(parent)
        self._settings, self._host = settings, host
        self._default_backbone = DEFAULT_BACKBONE
        self.setWindowTitle("Settings")
        self.setAccessibleName("Settings")
        self.resize(720, 300)
        self.banner = MessageBanner()

        self.device_combo = QComboBox()
        self.device_combo.setAccessibleName("Device")
        self.device_combo.setToolTip(
            "Where training and prediction run; only devices found on this machine"
        )
        for name in available_devices():
            self.device_combo.addItem(DEVICE_NAMES.get(name, name), name)
        self.device_combo.setCurrentIndex(max(self.device_combo.findData(device), 0))

        self.default_radio = QRadioButton(f"Embedded default ({DEFAULT_BACKBONE})")
        self.folder_radio = QRadioButton("A model folder:")
        self.default_radio.setAccessibleName("Use the embedded default backbone")
        self.folder_radio.setAccessibleName("Use a backbone from a local folder")
        group = QButtonGroup(self)
        group.addButton(self.default_radio)
        group.addButton(self.folder_radio)
        self.folder_edit = QLineEdit()
        self.folder_edit.setAccessibleName("Backbone folder")
        self.folder_edit.setPlaceholderText(
            "A Hugging Face model folder (BERT, RoBERTa, MiniLM, MPNet…)"
        )
        browse = QPushButton("Browse…")
        browse.setAccessibleName("Choose the backbone folder")
        browse.clicked.connect(self._browse)
        is_default = settings.backbone == DEFAULT_BACKBONE
        (self.default_radio if is_default else self.folder_radio).setChecked(True)
        self.folder_edit.setText("" if is_default else settings.backbone)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_radio)
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(browse)
        backbone_box = QVBoxLayout()
        backbone_box.addWidget(self.default_radio)
        backbone_box.addLayout(folder_row)

        self.meta_combo = QComboBox()
        self.meta_combo.setAccessibleName("Meta-adapter checkpoint")
        self.meta_combo.setToolTip("Shipped checkpoints first, then the ones you meta-trained")
        refresh = QPushButton("Refresh")
        refresh.setToolTip("Look again for checkpoints (e.g. after meta-training)")
        refresh.clicked.connect(self.refresh_checkpoints)
        meta_row = QHBoxLayout()
        meta_row.addWidget(self.meta_combo, 1)
        meta_row.addWidget(refresh)
        self.meta_detail = QLabel()
        self.meta_detail.setObjectName("panelSummary")
        self.meta_detail.setWordWrap(True)
        meta_box = QVBoxLayout()
        meta_box.addLayout(meta_row)
        meta_box.addWidget(self.meta_detail)
        self._summaries: dict[str, dict] = {}
        self._stopped: dict[str, StoppedRun | None] = {}
        self.meta_combo.currentIndexChanged.connect(self._describe_checkpoint)

        self.length_spin = QSpinBox()
        self.length_spin.setRange(16, 512)
        self.length_spin.setSingleStep(16)
        self.length_spin.setValue(settings.max_length)
        self.length_spin.setSuffix(" tokens")
        self.length_spin.setAccessibleName("Maximum text length")
        self.length_spin.setToolTip(
            "Longer texts are shortened; shorter limits train and predict faster"
        )

        form = QFormLayout()
        form.addRow("Device:", self.device_combo)
        form.addRow("Backbone:", backbone_box)
        form.addRow("Meta-adapters:", meta_box)
        form.addRow("Text length:", self.length_spin)
        note = QLabel(
            "The device is remembered for this computer; the backbone, meta-adapters and "
            "text length are saved with the project."
        )
        note.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.refresh_checkpoints()

    @Slot()
    def refresh_checkpoints(self) -> None:
        from engine.locations import meta_checkpoint_dirs, read_checkpoint_summary
        from engine.metatrain import stopped_run

        current = (
            self.meta_combo.currentData()
            if self.meta_combo.count()
            else self._settings.meta_checkpoint
        )
        fingerprint = self._host.model.backbone.fingerprint if self._host.model else None
        self.meta_combo.clear()
        self.meta_combo.addItem("Automatic: the best checkpoint for this backbone", None)
        for folder in meta_checkpoint_dirs():
            try:
                summary = read_checkpoint_summary(folder)
            except (OSError, ValueError):
                continue
            try:
                stopped = stopped_run(folder)
            except (OSError, ValueError):  # the checkpoint itself is still usable
                stopped = None
            self._summaries[str(folder)] = summary
            self._stopped[str(folder)] = stopped
            title = checkpoint_title(folder, summary, fingerprint, stopped)
            self.meta_combo.addItem(title, str(folder))
        self.meta_combo.setCurrentIndex(max(self.meta_combo.findData(current), 0))
        self._describe_checkpoint()

    @Slot()
    def _describe_checkpoint(self) -> None:
        folder = self.meta_combo.currentData()
        if folder is None:
            meta = self._host.model.meta if self._host.model else None
            text = f"Now using {meta.name!r}." if meta else "Chosen when the backbone is loaded."
            if meta is not None and not meta.trained:
                text += " It is untrained: meta-train one, or install a shipped checkpoint."
        else:
            summary = self._summaries.get(folder, {})
            trained = "meta-trained" if summary.get("training") else "untrained"
            text = (
                f"{trained}; {summary.get('steps', '?')} learned fine-tuning steps; made for "
                f"{summary.get('backbone', '?')}."
            )
            stopped = self._stopped.get(folder)
            if stopped is not None:
                text += (
                    f" Its run stopped at step {stopped.steps_done} of {stopped.steps_planned}: "
                    "resume it in Tools > Meta-train a checkpoint (choose it under “Resume”)."
                )
        self.meta_detail.setText(text)

    @Slot()
    def _browse(self) -> None:
        folder = prompts.folder_path(
            self, "Backbone folder", self.folder_edit.text() or str(Path.home())
        )
        if folder is not None:
            self.folder_edit.setText(str(folder))
            self.folder_radio.setChecked(True)

    def device(self) -> str:
        return self.device_combo.currentData()

    def backbone(self) -> str:
        return (
            self._default_backbone
            if self.default_radio.isChecked()
            else self.folder_edit.text().strip()
        )

    def project_settings(self) -> ProjectSettings:
        from engine.project import ProjectSettings

        return ProjectSettings(
            backbone=self.backbone(),
            meta_checkpoint=self.meta_combo.currentData(),
            max_length=self.length_spin.value(),
        )

    def accept(self) -> None:
        if self.folder_radio.isChecked():
            folder = Path(self.folder_edit.text().strip()).expanduser()
            if not (folder / "config.json").is_file():
                self.banner.show_error(
                    f"`{folder}` is not a model folder: it needs a config.json with the weights "
                    "and "
                    "tokenizer files beside it. Choose another folder or the embedded default."
                )
                return
        super().accept()
