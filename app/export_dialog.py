"""Export the classifier to ONNX (optionally int8) and say what was written, and why it is big."""

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
from app.document import Document
from app.job_runner import JobRunner
from app.message_banner import MessageBanner, MessageKind
from app.model_host import ModelHost
from app.open_folder import open_folder
from app.worker import Worker

EXPORT_JOB = "export"
# Below this the export's probabilities equal the app's to every digit a person reads.
FAITHFUL_DIFFERENCE = 1e-4
INTRO = (
    "An ONNX export runs your classifier without PyTorch (only onnxruntime), fast on CPUs, for "
    "use in other programs or on servers. Its folder holds the whole language model, about "
    "90 MB (the int8 copy adds about 23 MB), not only your classifier. To share the classifier "
    "with someone who has Fewshot Studio, the classifier file is enough (Classifier > Save "
    "classifier file, under 1 MB)."
)


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
    lines.append(
        f"Total {human_size(sum(report.files.values()))}: the language model and your classifier."
    )
    if report.max_prob_diff < FAITHFUL_DIFFERENCE:
        lines.append("Checked: it gives the same predictions as the classifier in the app.")
    else:
        lines.append(
            "Checked: its probabilities differ slightly from the app's (by up to "
            f"{report.max_prob_diff:.1%}); the classes it picks are the same."
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
        document: Document,
        host: ModelHost,
        runner: JobRunner,
        settings: AppSettings,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self._document, self._host = document, host
        self._runner, self._settings = runner, settings
        self.report = None
        self.setWindowTitle("Export to ONNX")
        self.setAccessibleName("Export to ONNX")
        self.resize(620, 380)
        self.banner = MessageBanner()
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        self.state = QLabel()
        self.state.setWordWrap(True)
        self.state.setAccessibleName("Classifier to export")
        self.folder_edit = QLineEdit()
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
        self.open_button = self.buttons.addButton(
            "Open folder", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self.open_folder)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(intro)
        layout.addWidget(self.state)
        layout.addLayout(folder_row)
        layout.addWidget(self.int8_box)
        layout.addWidget(self.progress)
        layout.addWidget(self.summary, 1)
        layout.addWidget(self.buttons)

    def prepare(self, beside: Path | None) -> None:
        """Before showing: say which classifier goes out, and suggest a folder `beside` the
        saved classifier file or project (else the last folder used)."""
        state = self._document.model_state()
        self.state.setText(
            f"<b>Exports:</b> the classifier in the app. {state.summary}"
            if state.trained
            else "<b>Nothing to export yet:</b> train the classifier first."
        )
        if self.report is None and not self._runner.is_running(EXPORT_JOB):
            folder = beside.parent if beside is not None else Path(self._settings.last_folder)
            name = beside.name.split(".")[0] if beside is not None else "classifier"
            self.folder_edit.setText(str(folder / f"{name}-onnx"))

    @Slot()
    def open_folder(self) -> None:
        if self.report is not None:
            open_folder(Path(self.report.folder), self.banner)

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
        self.summary.setToolTip(
            f"Largest probability difference from the app's classifier: {report.max_prob_diff:.1e}"
        )
        self.open_button.setEnabled(True)
        self._settings.last_folder = str(Path(report.folder).parent)
        self.banner.show_message("Export finished.", MessageKind.SUCCESS)

    @Slot(str)
    def _failed(self, message: str) -> None:
        self.banner.show_error(f"Export failed: {message}")

    @Slot()
    def _finished(self) -> None:
        self.progress.setVisible(False)
        self.export_button.setEnabled(True)
