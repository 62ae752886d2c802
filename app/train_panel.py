"""One-click Train, then the quality estimate as its own stage, and the classifier's state."""

from __future__ import annotations

import time

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
from engine.progress import LONG_RUN_SECONDS, ProgressEvent, TimeLeft, duration_words
from engine.training_state import TrainedOn, plural, train_blocker

TRAIN_JOB, QUALITY_JOB = "train", "estimate quality"
OUT_OF_DATE_STYLE = "color: #8a5300; font-weight: bold;"


class TrainPanel(QWidget):
    """Training builds a new classifier; the current one is replaced only when the new one is
    complete, so Cancel or an error leaves it as it was. The classifier is ready (Try it,
    Export) as soon as training ends; the quality estimate follows as a separate stage with
    its own progress and Stop button, and stopping it keeps the classifier.

    Every text here is derived from the document's model state, never remembered.
    """

    busy_changed = Signal(bool)  # training started or ended (the estimate does not count)

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
        self._trained_on: TrainedOn | None = None  # what the running training job learns from
        self._stale = False  # another project was opened while a job ran: drop its results
        self._quality_note = ""  # why there is no estimate for the current classifier
        self.clock = time.monotonic  # what the time left is measured with (tests set their own)
        self._time_left, self._estimate_time_left = TimeLeft(self.clock), TimeLeft(self.clock)
        self._long_run_notice = ""  # shown once per training run whose estimate is long

        self.train_button = QPushButton("Train")
        self.train_button.setObjectName("trainButton")
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
        self.progress.setVisible(False)
        self.time_left = QLabel()
        self.time_left.setAccessibleName("Training time left")
        self.stage = QLabel()
        self.stage.setObjectName("stageLabel")
        self.stage.setAccessibleName("Training step")
        self.stage.setWordWrap(True)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setObjectName("trainStatus")
        self.status.setAccessibleName("Classifier state")
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setObjectName("panelSummary")

        self.quality = QualityView()
        self.estimate_progress = QProgressBar()
        self.estimate_progress.setAccessibleName("Quality estimate progress")
        self.estimate_stage = QLabel()
        self.estimate_stage.setWordWrap(True)
        self.estimate_stage.setAccessibleName("Quality estimate step")
        self.stop_estimate_button = QPushButton("Stop estimate")
        self.stop_estimate_button.setToolTip(
            "Stop the quality estimate; the trained classifier stays ready"
        )
        self.stop_estimate_button.clicked.connect(self.stop_estimate)
        self.estimate_button = QPushButton("Estimate quality")
        self.estimate_button.setToolTip(
            "Measure the classifier by cross-validation on your examples"
        )
        self.estimate_button.clicked.connect(self.estimate)

        buttons = QHBoxLayout()
        buttons.addWidget(self.train_button, 1)
        buttons.addWidget(self.cancel_button)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.time_left)
        estimate_row = QHBoxLayout()
        estimate_row.addWidget(self.estimate_progress, 1)
        estimate_row.addWidget(self.stop_estimate_button)
        estimate_row.addWidget(self.estimate_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addLayout(progress_row)
        layout.addWidget(self.stage)
        layout.addWidget(self.status)
        layout.addWidget(self.details)
        layout.addLayout(estimate_row)
        layout.addWidget(self.estimate_stage)
        layout.addWidget(self.quality, 1)

        document.state_changed.connect(self.refresh)
        document.loaded.connect(self._document_replaced)
        host.model_ready.connect(self.refresh)
        host.model_failed.connect(self.refresh)
        host.classifier_changed.connect(self.refresh)
        runner.job_finished.connect(self._job_finished)
        self.refresh()

    @property
    def is_busy(self) -> bool:
        """Training runs (the quality estimate may run on after it: see is_estimating)."""
        return self._runner.is_running(TRAIN_JOB)

    @property
    def is_estimating(self) -> bool:
        return self._runner.is_running(QUALITY_JOB) or self._pending_quality is not None

    def blocker(self) -> str | None:
        """Why Train cannot start now, in plain words; None when it can."""
        if not self._host.is_ready:
            return "The language model is still loading (see the status bar)."
        _, labels, _ = self._document.training_examples()
        return train_blocker(labels, self._document.class_names())

    # ---- actions ----------------------------------------------------------------------
    @Slot()
    def train(self) -> None:
        if self.is_busy:
            return
        reason = self.blocker()
        if reason:
            self._banner.show_message(f"Nothing to train yet. {reason}", MessageKind.INFO)
            return
        self.stop_estimate()  # the estimate was for the classifier about to be replaced
        texts, labels, self._skipped = self._document.training_examples()
        classes = self._document.class_names()
        settings = self._document.settings
        self._trained_on, self._stale = TrainedOn.of(texts, labels, classes, settings), False
        job = jobs.train(self._host.model, settings.max_length, texts, labels, classes)
        worker = Worker(job, name=TRAIN_JOB)
        worker.progressed.connect(self._progressed)
        worker.succeeded.connect(self._trained)
        worker.failed.connect(self._failed)
        worker.cancelled.connect(self._cancelled)
        self._banner.clear()
        self._reset_time_left()
        self._runner.start(worker)
        self._set_training(True, "Training…")

    @Slot()
    def cancel(self) -> None:
        self._runner.abort(TRAIN_JOB)
        self.stop_estimate()
        if self.is_busy:
            self.stage.setText("Cancelling…")

    @Slot()
    def estimate(self) -> None:
        """Cross-validate the current classifier's examples (after Train, or on request)."""
        from engine.evaluation import not_enough_reason

        trained, classifier = self._document.trained_on, self._host.classifier
        if self.is_estimating or trained is None or classifier is None:
            return
        texts = [text for text, _ in trained.examples]
        labels = [label for _, label in trained.examples]
        reason = not_enough_reason(labels)
        if reason:
            self._quality_note = reason
            self.refresh()
            return
        job = jobs.estimate_quality(
            self._host.model,
            self._document.settings.max_length,
            texts,
            labels,
            list(classifier.labels),
            dict(classifier.training),
        )
        worker = Worker(job, name=QUALITY_JOB)
        worker.progressed.connect(self._estimate_progressed)
        worker.succeeded.connect(self._estimated)
        worker.failed.connect(self._estimate_failed)
        worker.cancelled.connect(self._estimate_cancelled)
        self._quality_note = ""
        self.estimate_stage.setText("Estimating quality: waiting for training to finish…")
        if self.is_busy:
            self._pending_quality = worker  # after the training thread has ended
        else:
            self._start_estimate(worker)
        self.refresh()

    @Slot()
    def stop_estimate(self) -> None:
        if self._pending_quality is not None:
            self._pending_quality = None
            self._quality_note = "Quality estimate stopped; the classifier is trained and ready."
        self._runner.abort(QUALITY_JOB)
        self.refresh()

    def _start_estimate(self, worker: Worker) -> None:
        self._estimate_time_left = TimeLeft(self.clock)
        self.estimate_progress.setRange(0, 0)
        self.estimate_stage.setText("Estimating quality…")
        self._runner.start(worker)
        self.refresh()

    # ---- training results -------------------------------------------------------------
    @Slot(str, int, int, object)
    def _progressed(self, stage: str, done: int, total: int, metrics) -> None:
        self.progress.setRange(0, total)  # total 0: a busy indicator
        self.progress.setValue(done)
        self.stage.setText(f"{stage}: {done} of {total}" if total else f"{stage}…")
        seconds = self._time_left.update(ProgressEvent(stage, done, total))
        self.time_left.setText(f"{duration_words(seconds)} left" if seconds is not None else "")
        if seconds is not None and seconds > LONG_RUN_SECONDS and not self._long_run_notice:
            kept = " and keeps the previous classifier" if self._host.classifier else ""
            self._long_run_notice = (
                f"This training will take {duration_words(seconds)}. Cancel (Esc) stops it{kept}."
            )
            self._banner.show_message(self._long_run_notice, MessageKind.WARNING)

    def _reset_time_left(self) -> None:
        """A new run: its time is measured from now, and a long one is announced afresh."""
        self._time_left = TimeLeft(self.clock)
        self._long_run_notice = ""

    @Slot(object)
    def _trained(self, result: jobs.TrainedClassifier) -> None:
        if self._stale:
            return
        self._host.set_classifier(result.classifier)
        self._document.set_classifier(result.file_bytes, self._trained_on)
        self.estimate()

    @Slot(str)
    def _failed(self, message: str) -> None:
        if not self._stale:
            self._banner.show_error(f"Training failed: {message}")

    @Slot()
    def _document_replaced(self) -> None:
        self._quality_note = ""
        if self.is_busy or self.is_estimating:
            self._stale = True
            self.cancel()
        self.refresh()

    @Slot()
    def _cancelled(self) -> None:
        if self._stale:
            return
        kept = "The previous classifier is kept." if self._host.classifier else ""
        self._banner.show_message(f"Training cancelled. {kept}".strip(), MessageKind.INFO)

    @Slot(str, int, int, object)
    def _estimate_progressed(self, stage: str, done: int, total: int, metrics) -> None:
        self.estimate_progress.setRange(0, total)
        self.estimate_progress.setValue(done)
        seconds = self._estimate_time_left.update(ProgressEvent(stage, done, total))
        left = f" {duration_words(seconds)} left." if seconds is not None else ""
        self.estimate_stage.setText(f"{stage}…{left}")

    @Slot(object)
    def _estimated(self, report) -> None:
        classifier = self._host.classifier
        if self._stale or classifier is None:
            return
        classifier.unsure_below = report.unsure_below  # chosen on its own cross-validation
        self._document.set_quality(report, jobs.classifier_bytes(classifier))
        self._host.set_classifier(classifier)  # every view re-reads it: Try it says "unsure"

    @Slot(str)
    def _estimate_failed(self, message: str) -> None:
        if not self._stale:
            self._quality_note = f"No quality estimate: {message}"

    @Slot()
    def _estimate_cancelled(self) -> None:
        if not self._stale:
            self._quality_note = "Quality estimate stopped; the classifier is trained and ready."

    @Slot(str)
    def _job_finished(self, name: str) -> None:
        if name == TRAIN_JOB:
            pending, self._pending_quality = self._pending_quality, None
            if pending is not None and not self._stale:
                self._start_estimate(pending)
            self._set_training(False, "")
        elif name == QUALITY_JOB:
            self.refresh()

    # ---- display ----------------------------------------------------------------------
    @Slot()
    def refresh(self) -> None:
        """Show the document's model state: the one truth every view derives from."""
        state = self._document.model_state()
        self.status.setText(state.summary)
        self.status.setStyleSheet(OUT_OF_DATE_STYLE if state.out_of_date else "")
        classifier = self._host.classifier
        self.details.setText(
            self._training_details(classifier.training)
            if state.current and classifier is not None
            else ""
        )
        self.details.setVisible(bool(self.details.text()))
        estimating = self.is_estimating
        for widget in (self.estimate_progress, self.stop_estimate_button, self.estimate_stage):
            widget.setVisible(estimating)
        quality = self._document.quality
        self.estimate_button.setVisible(
            state.current and quality is None and not estimating and classifier is not None
        )
        if quality is not None:
            self.quality.show_report(quality, out_of_date=state.out_of_date)
        elif estimating:
            self.quality.show_note("")
        else:
            self.quality.show_note(self._quality_note if state.trained else "")
        self._update_buttons()

    def _training_details(self, training: dict) -> str:
        if not training:
            return ""
        text = f"Training took {training.get('seconds', 0):.1f} s"
        held_out = training.get("held_out")
        if held_out:
            text += (
                f" and ran {plural(training['steps'], 'step')}, the number that did best on "
                f"{plural(held_out['examples'], 'example')} set aside to check it "
                f"({held_out['accuracy']:.0%} of them right)"
            )
        text += ". Try it below."
        if self._skipped:
            text += f" {plural(self._skipped, 'row')} without text or class were left out."
        if training.get("truncated_texts"):
            text += f" {plural(training['truncated_texts'], 'long text')} were shortened."
        return text

    def _set_training(self, busy: bool, stage: str) -> None:
        self.progress.setVisible(busy)
        self.time_left.clear()
        if busy:
            self.progress.setRange(0, 0)
        elif self._long_run_notice and self._banner.text() == self._long_run_notice:
            self._banner.clear()  # "this will take an hour" is no news once it is over
        self.stage.setText(stage)
        self.stage.setVisible(bool(stage))
        self.refresh()
        self.busy_changed.emit(busy)

    def _update_buttons(self) -> None:
        busy = self.is_busy
        reason = None if busy else self.blocker()
        self.train_button.setEnabled(not busy and reason is None)
        self.train_button.setText("Training…" if busy else "Train")
        self.train_button.setToolTip(
            reason or "Teach the classifier from your examples (Ctrl+Return)"
        )
        self.cancel_button.setEnabled(busy)
        if not busy and reason and self._host.is_ready:
            self.stage.setText(reason)
            self.stage.setVisible(True)
        elif not busy:
            self.stage.setText("")
            self.stage.setVisible(False)
