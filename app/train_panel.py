"""One-click Train: progress, Cancel, and the quality estimate afterwards."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app import jobs
from app.document import Document
from app.job_runner import JobRunner
from app.message_banner import MessageBanner, MessageKind
from app.model_host import ModelHost
from app.quality_view import QualityView
from app.worker import Worker

TRAIN_JOB, QUALITY_JOB = "train", "estimate quality"
NOT_TRAINED_NOTE = "Not trained yet. Add a few examples per class, then press Train."


class TrainPanel(QWidget):
    """Runs training, then (when there are enough examples) cross-validation, in the background.

    Training builds a new classifier; the current one is replaced only when the new one is
    complete, so Cancel or an error leaves it as it was.
    """

    busy_changed = Signal(bool)

    def __init__(
        self,
        document: Document,
        host: ModelHost,
        runner: JobRunner,
        banner: MessageBanner,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self._document, self._host, self._runner, self._banner = document, host, runner, banner
        self._skipped = 0
        self._pending_quality: Worker | None = None  # starts once the training thread has ended
        self._trained_on: tuple[list[str], list[str]] = ([], [])  # the data of the running job
        self._stale = False  # another project was opened while a job ran: drop its results

        self.train_button = QPushButton("Train")
        self.train_button.setObjectName("trainButton")
        self.train_button.setToolTip("Teach the classifier from your examples (Ctrl+Return)")
        self.train_button.setAccessibleName("Train the classifier")
        self.train_button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.train_button.setMinimumHeight(48)
        self.train_button.clicked.connect(self.train)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop training; the previous classifier is kept (Esc)")
        self.cancel_button.setAccessibleName("Cancel training")
        self.cancel_button.setMinimumHeight(48)
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Training progress")
        self.progress.setTextVisible(True)
        self.progress.setVisible(False)
        self.stage = QLabel()
        self.stage.setObjectName("stageLabel")
        self.stage.setAccessibleName("Training step")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setObjectName("trainStatus")
        self.quality = QualityView()

        buttons = QHBoxLayout()
        buttons.addWidget(self.train_button, 1)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.stage)
        layout.addWidget(self.status)
        layout.addWidget(self.quality, 1)

        document.classifier_changed.connect(self._show_document_state)
        document.loaded.connect(self._document_replaced)
        host.model_ready.connect(self._update_buttons)
        host.model_failed.connect(self._update_buttons)
        runner.job_finished.connect(self._job_finished)
        self._show_document_state()
        self._update_buttons()

    @property
    def is_busy(self) -> bool:
        return self._runner.is_running(TRAIN_JOB) or self._runner.is_running(QUALITY_JOB)

    # ---- actions ----------------------------------------------------------------------
    @Slot()
    def train(self) -> None:
        if self.is_busy:
            return
        if not self._host.is_ready:
            self._banner.show_error(
                "The language model is still loading (see the status bar): press Train again "
                "in a few seconds."
            )
            return
        texts, labels, self._skipped = self._document.training_examples()
        self._trained_on, self._stale = (texts, labels), False
        worker = Worker(self._training_job(jobs.train, texts, labels), name=TRAIN_JOB)
        worker.progressed.connect(self._progressed)
        worker.succeeded.connect(self._trained)
        worker.failed.connect(self._failed)
        worker.cancelled.connect(self._cancelled)
        self._banner.clear()
        self._runner.start(worker)
        self._set_busy(True, "Training…")

    @Slot()
    def cancel(self) -> None:
        self._runner.abort(TRAIN_JOB)
        self._runner.abort(QUALITY_JOB)
        if self._pending_quality is not None:
            self._pending_quality.abort()
        self.stage.setText("Cancelling…")

    def _training_job(self, make_job, texts, labels):
        settings = self._document.settings
        return make_job(
            self._host.model, settings.max_length, texts, labels, self._document.class_names()
        )

    # ---- training results -------------------------------------------------------------
    @Slot(str, int, int, object)
    def _progressed(self, stage: str, done: int, total: int, metrics) -> None:
        self.progress.setRange(0, total)  # total 0: a busy indicator
        self.progress.setValue(done)
        step = f": step {done} of {total}" if total else "…"
        self.stage.setText(f"{stage}{step}")

    @Slot(object)
    def _trained(self, result: jobs.TrainedClassifier) -> None:
        from engine.evaluation import not_enough_reason

        if self._stale:
            return
        self._host.set_classifier(result.classifier)
        training = result.classifier.training
        self.status.setText(self._trained_summary(training))
        texts, labels = self._trained_on  # estimate what was trained, even if edited since
        reason = not_enough_reason(labels)
        self._document.set_classifier(result.file_bytes, None)
        if reason:
            self.quality.show_note(reason)
            return
        worker = Worker(self._training_job(jobs.estimate_quality, texts, labels), name=QUALITY_JOB)
        worker.progressed.connect(self._progressed)
        worker.succeeded.connect(self._estimated)
        worker.failed.connect(self._estimate_failed)
        worker.cancelled.connect(self._estimate_cancelled)
        self.quality.show_note("Estimating quality by cross-validation…")
        self._pending_quality = worker

    def _trained_summary(self, training: dict) -> str:
        classes = len(training.get("examples_per_class", {}))
        text = (
            f"Trained on {training.get('examples', 0)} examples in {classes} classes "
            f"in {training.get('seconds', 0):.1f} s. Try it below."
        )
        held_out = training.get("held_out")
        if held_out:
            text += (
                f" It trained for {training['steps']} steps, the number that did best on "
                f"{held_out['examples']} examples set aside to check it "
                f"({held_out['accuracy']:.0%} of them right)."
            )
        if self._skipped:
            text += f" {self._skipped} row(s) without text or class were left out."
        if training.get("truncated_texts"):
            text += f" {training['truncated_texts']} long text(s) were shortened."
        return text

    @Slot(str)
    def _failed(self, message: str) -> None:
        if self._stale:
            return
        self._banner.show_error(f"Training failed: {message}")

    @Slot()
    def _document_replaced(self) -> None:
        if self.is_busy:
            self._stale = True
            self.cancel()

    @Slot()
    def _cancelled(self) -> None:
        if self._stale:
            return
        kept = "The previous classifier is kept." if self._host.classifier else ""
        self._banner.show_message(f"Training cancelled. {kept}".strip(), MessageKind.INFO)

    @Slot(object)
    def _estimated(self, report) -> None:
        if not self._stale:
            self._document.set_quality(report)

    @Slot(str)
    def _estimate_failed(self, message: str) -> None:
        if self._stale:
            return
        self.quality.show_note(f"No quality estimate: {message}")

    @Slot()
    def _estimate_cancelled(self) -> None:
        if self._stale:
            return
        self.quality.show_note("Quality estimate cancelled; the classifier is trained and ready.")

    @Slot(str)
    def _job_finished(self, name: str) -> None:
        pending = self._pending_quality
        if name == TRAIN_JOB and pending is not None:
            self._pending_quality = None
            self._runner.start(pending)
            self._set_busy(True, "Estimating quality…")
        elif name in (TRAIN_JOB, QUALITY_JOB) and not self.is_busy:
            self._set_busy(False, "")

    # ---- display ----------------------------------------------------------------------
    @Slot()
    def _show_document_state(self) -> None:
        if self._document.quality is not None:
            self.quality.show_report(self._document.quality)
        elif self._document.classifier_file is None:
            self.quality.show_note(NOT_TRAINED_NOTE)
        if self._document.classifier_file is None:
            self.status.setText("")

    def _set_busy(self, busy: bool, stage: str) -> None:
        self.progress.setVisible(busy)
        if busy:
            self.progress.setRange(0, 0)
        self.stage.setText(stage)
        self._update_buttons()
        self.busy_changed.emit(busy)

    @Slot()
    def _update_buttons(self) -> None:
        busy = self.is_busy
        self.train_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        self.train_button.setText("Training…" if busy else "Train")
