"""Export the classifier to ONNX (optionally int8) and say what was written."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app import prompts
from app.app_settings import AppSettings
from app.job_runner import JobRunner
from app.message_banner import MessageBanner, MessageKind
from app.model_host import ModelHost
from app.worker import Worker

EXPORT_JOB = "export"


def export_job(classifier, folder: Path, int8: bool):
    def job(progress, should_stop):
        try:
            from engine.onnx import export_onnx
        except ImportError as error:
            raise ImportError(
                f"ONNX export is not available in this installation ({error}): install the "
                "`onnx`, `onnxscript` and `onnxruntime` packages."
            ) from error
        return export_onnx(classifier, folder, int8=int8, progress=progress)

    return job


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:,.1f} MB"
    return f"{max(size / 1024, 0.1):,.1f} KB"


def describe_export(report) -> str:
    """What was written, in words: files with sizes, and how faithful the export is."""
    lines = [f"Exported to {report.folder}:"]
    lines += [f"  • {name}  ({human_size(size)})" for name, size in report.files.items()]
    lines.append(f"Total {human_size(sum(report.files.values()))}.")
    lines.append(
        f"Largest probability difference from the app's classifier: {report.max_prob_diff:.1e}."
    )
    if report.int8 and report.int8_argmax_agreement is not None:
        lines.append(
            f"The int8 model (smaller and faster) gives the same class on "
            f"{report.int8_argmax_agreement:.0%} of the check texts."
        )
    lines.append(
        "It runs without PyTorch, e.g. `fewshot classify-csv FOLDER input.csv -o output.csv` "
        "(onnxruntime and tokenizers only)."
    )
    return "\n".join(lines)


class ExportDialog(QDialog):
    def __init__(
        self,
        host: ModelHost,
        runner: JobRunner,
        settings: AppSettings,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self._host, self._runner, self._settings = host, runner, settings
        self.report = None
        self.setWindowTitle("Export to ONNX")
        self.setAccessibleName("Export to ONNX")
        self.resize(620, 380)
        self.banner = MessageBanner()
        intro = QLabel(
            "An ONNX export runs the classifier without PyTorch (onnxruntime only): smaller to "
            "ship and faster on CPUs. It is written as a folder."
        )
        intro.setWordWrap(True)
        self.folder_edit = QLineEdit(str(Path(settings.last_folder) / "classifier-onnx"))
        self.folder_edit.setAccessibleName("Export folder")
        self.folder_edit.setToolTip("A new or empty folder (an earlier export there is replaced)")
        browse = QPushButton("Browse…")
        browse.setAccessibleName("Choose export folder")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(QLabel("Folder:"))
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(browse)
        self.int8_box = QCheckBox(
            "Also write an int8 model (about 4× smaller, faster; predictions nearly identical)"
        )
        self.int8_box.setAccessibleName("Add int8 quantised model")
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setAccessibleName("Export summary")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.export_button = self.buttons.addButton(
            "Export", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.export)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(intro)
        layout.addLayout(folder_row)
        layout.addWidget(self.int8_box)
        layout.addWidget(self.progress)
        layout.addWidget(self.summary, 1)
        layout.addWidget(self.buttons)

    @Slot()
    def _browse(self) -> None:
        folder = prompts.folder_path(
            self, "Export to folder", str(Path(self.folder_edit.text()).parent)
        )
        if folder is not None:
            self.folder_edit.setText(str(folder))

    @Slot()
    def export(self) -> None:
        classifier = self._host.classifier
        folder = self.folder_edit.text().strip()
        if classifier is None:
            self.banner.show_error("Train the classifier first: there is nothing to export.")
            return
        if not folder:
            self.banner.show_error("Choose a folder to export to.")
            return
        worker = Worker(
            export_job(classifier, Path(folder).expanduser(), self.int8_box.isChecked()),
            name=EXPORT_JOB,
        )
        worker.progressed.connect(self._progressed)
        worker.succeeded.connect(self._exported)
        worker.failed.connect(self._failed)
        worker.finished.connect(self._finished)
        self.banner.clear()
        self.summary.clear()
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.export_button.setEnabled(False)
        self._runner.start(worker)

    @Slot(str, int, int, object)
    def _progressed(self, stage: str, done: int, total: int, metrics) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress.setFormat(f"{stage}: %p%")

    @Slot(object)
    def _exported(self, report) -> None:
        self.report = report
        self.summary.setText(describe_export(report))
        self._settings.last_folder = str(Path(report.folder).parent)
        self.banner.show_message("Export finished.", MessageKind.SUCCESS)

    @Slot(str)
    def _failed(self, message: str) -> None:
        self.banner.show_error(f"Export failed: {message}")

    @Slot()
    def _finished(self) -> None:
        self.progress.setVisible(False)
        self.export_button.setEnabled(True)
