"""Try it: type a text, see the predicted class and a probability bar per class."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app import jobs
from app.document import Document
from app.job_runner import JobRunner
from app.model_host import ModelHost
from app.worker import Worker

PREDICT_JOB = "predict"
DEBOUNCE_MS = 250  # after the last key press: fast enough to feel live, slow enough to skip words
BAR_SCALE = 1000


class TryPanel(QWidget):
    """Predicts in the background as the user types; a result for an older text is dropped,
    and at most one prediction runs at a time (the newest text goes next)."""

    def __init__(
        self,
        document: Document,
        host: ModelHost,
        runner: JobRunner,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self._document, self._host, self._runner = document, host, runner
        self._waiting = False  # a newer text arrived while a prediction was running
        title = QLabel("Try it")
        title.setObjectName("panelTitle")
        self.input = QPlainTextEdit()
        self.input.setPlaceholderText("Type or paste a text to see how it is classified…")
        self.input.setAccessibleName("Text to classify")
        self.input.setToolTip("Type a text: the prediction updates as you type (Ctrl+L)")
        self.input.setMaximumHeight(84)
        self.input.setTabChangesFocus(True)
        self.prediction = QLabel()
        self.prediction.setObjectName("predictionLabel")
        self.prediction.setAccessibleName("Predicted class")
        self.prediction.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._bars_box = QWidget()
        self._bars = QGridLayout(self._bars_box)
        self._bars.setContentsMargins(0, 0, 0, 0)
        self._bars.setColumnStretch(1, 1)
        self._bar_widgets: dict[str, tuple[QLabel, QProgressBar]] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.state_note = QLabel()  # the document's model state when it is not current
        self.state_note.setObjectName("stateNote")
        self.state_note.setWordWrap(True)
        self.state_note.setStyleSheet("color: #8a5300;")
        self.state_note.setAccessibleName("Classifier state")
        layout.addWidget(title)
        layout.addWidget(self.state_note)
        layout.addWidget(self.input)
        layout.addWidget(self.prediction)
        self.note = QLabel()
        self.note.setObjectName("panelSummary")
        self.note.setWordWrap(True)
        layout.addWidget(self.note)
        layout.addWidget(self._bars_box)
        self.unsure_spin = QSpinBox()
        self.unsure_spin.setRange(0, 99)
        self.unsure_spin.setSuffix(" %")
        self.unsure_spin.setAccessibleName("Say unsure below this confidence")
        self.unsure_spin.lineEdit().setAccessibleName("Say unsure below this confidence")
        self.unsure_spin.setToolTip(
            'Below this confidence Try it, batch files and the ONNX export say "unsure". '
            "Set from the quality estimate; 0 turns it off."
        )
        self.unsure_spin.editingFinished.connect(self._set_unsure_below)
        unsure_row = QHBoxLayout()
        unsure_row.addWidget(QLabel("Say “unsure” below"))
        unsure_row.addWidget(self.unsure_spin)
        unsure_row.addStretch(1)
        layout.addLayout(unsure_row)
        layout.addStretch(1)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.request)
        self.input.textChanged.connect(self._timer.start)
        host.classifier_changed.connect(self.request)
        document.state_changed.connect(self._show_state)
        runner.job_finished.connect(self._job_finished)
        self._show_state()
        self.request()

    def text(self) -> str:
        return self.input.toPlainText().strip()

    @Slot()
    def _show_state(self) -> None:
        """Say so above the input when the classifier predates the examples shown."""
        state = self._document.model_state()
        classifier = self._host.classifier
        text = ""
        if state.out_of_date and classifier is not None:
            classes = ", ".join(classifier.labels)
            text = f"{state.summary} It predicts only its classes: {classes}."
        self.state_note.setText(text)
        self.state_note.setVisible(bool(text))

    @Slot()
    def _set_unsure_below(self) -> None:
        classifier = self._host.classifier
        value = self.unsure_spin.value() / 100
        if classifier is None or abs(classifier.unsure_below - value) < 1e-9:
            return
        classifier.unsure_below = value
        self._document.set_quality(self._document.quality, jobs.classifier_bytes(classifier))
        self.request()

    @Slot()
    def request(self) -> None:
        self._show_state()
        classifier = self._host.classifier
        self.unsure_spin.setEnabled(classifier is not None)
        if classifier is not None:
            self.unsure_spin.setValue(round(100 * classifier.unsure_below))
        if classifier is None:
            if self._document.classifier_file is not None:
                self._show_message("Loading the project's classifier…")
            else:
                self._show_message("Train the classifier to try it here.")
            return
        if not self.text():
            self._show_message("Type a text above to see its class.")
            self._bars_box.setVisible(False)
            return
        if self._runner.is_running(PREDICT_JOB):
            self._waiting = True
            return
        worker = Worker(jobs.predict(classifier, self.text()), name=PREDICT_JOB)
        worker.succeeded.connect(self._predicted)
        worker.failed.connect(self._show_message)
        self._runner.start(worker)

    @Slot(object)
    def _predicted(self, result: tuple[str, list[str], list[float]]) -> None:
        text, labels, probabilities = result
        if text != self.text() or self._host.classifier is None:
            return  # the user typed on, or the classifier changed: a newer request follows
        best = max(range(len(labels)), key=probabilities.__getitem__)
        unsure_below = self._host.classifier.unsure_below
        self.note.clear()
        self.prediction.setVisible(True)
        if probabilities[best] < unsure_below:
            self.prediction.setText(
                f"Unsure  ·  best guess {labels[best]}, {probabilities[best]:.0%}"
            )
            self.note.setText(
                f"Its confidence is under {unsure_below:.0%}, where this classifier's guesses "
                "were unreliable in cross-validation. Examples like this text help it most."
            )
        else:
            self.prediction.setText(f"{labels[best]}  ·  {probabilities[best]:.0%}")
        self.prediction.setAccessibleDescription(
            f"Predicted class {labels[best]} with probability {probabilities[best]:.0%}"
        )
        self._set_bars(labels, probabilities, best)
        self._bars_box.setVisible(True)

    @Slot(str)
    def _job_finished(self, name: str) -> None:
        if name == PREDICT_JOB and self._waiting:
            self._waiting = False
            self.request()

    def _show_message(self, text: str) -> None:
        """A note instead of a prediction (not trained yet, nothing typed, an error)."""
        self.prediction.clear()
        self.prediction.setVisible(False)
        self.note.setText(text)
        if self._host.classifier is None:
            self._set_bars([], [])
            self._bars_box.setVisible(False)

    def _set_bars(self, labels: list[str], probabilities: list[float], best: int = -1) -> None:
        if list(self._bar_widgets) != labels:
            self._rebuild_bars(labels)
        for position, (label, probability) in enumerate(zip(labels, probabilities, strict=True)):
            name, bar = self._bar_widgets[label]
            bar.setValue(round(probability * BAR_SCALE))
            bar.setFormat(f"{probability:.0%}")
            bar.setAccessibleDescription(f"{label}: {probability:.0%}")
            name.setStyleSheet("font-weight: bold;" if position == best else "")

    def _rebuild_bars(self, labels: list[str]) -> None:
        for name, bar in self._bar_widgets.values():
            name.deleteLater()
            bar.deleteLater()
        self._bar_widgets = {}
        for row, label in enumerate(labels):
            name = QLabel(label)
            bar = QProgressBar()
            bar.setRange(0, BAR_SCALE)
            bar.setAccessibleName(f"Probability of {label}")
            bar.setTextVisible(True)
            self._bars.addWidget(name, row, 0)
            self._bars.addWidget(bar, row, 1)
            self._bar_widgets[label] = (name, bar)

    def probabilities(self) -> dict[str, float]:
        """What the bars show, as fractions (tests and accessibility tools read this)."""
        return {label: bar.value() / BAR_SCALE for label, (_, bar) in self._bar_widgets.items()}
