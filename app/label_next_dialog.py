"""Label next: one pool text at a time, large, with the model's suggestion preselected.

Keys: Enter accepts the selected class, 1-9 picks a class (and accepts), S skips, Backspace
undoes the last label. Every accepted text moves into the examples as one undo step; after
every few (a setting) the classifier retrains in the background while labeling goes on.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.document import Document
from app.train_panel import TrainPanel
from engine.training_state import plural

DEFAULT_RETRAIN_EVERY = 5
CLASS_KEYS = {getattr(Qt.Key, f"Key_{n}"): n - 1 for n in range(1, 10)}


class LabelNextDialog(QDialog):
    def __init__(
        self,
        document: Document,
        train_panel: TrainPanel,
        retrain_every: int = DEFAULT_RETRAIN_EVERY,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self._document, self._train_panel = document, train_panel
        self.retrain_every = retrain_every
        self.labeled = 0  # accepted in this round of labeling
        self._since_training = 0
        self._skipped: set[str] = set()
        self._history: list[str] = []  # texts labeled here, for Backspace
        quality = document.quality
        self._accuracy_at_start = None if quality is None else quality.accuracy
        self.current: str | None = None
        self.setWindowTitle("Label next")
        self.setAccessibleName("Label next")
        self.resize(720, 420)
        self.text_label = QLabel()
        self.text_label.setObjectName("labelNextText")
        self.text_label.setWordWrap(True)
        self.text_label.setStyleSheet("font-size: 18px; padding: 12px;")
        self.text_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.suggestion = QLabel()
        self.suggestion.setAccessibleName("Suggested class")
        self.buttons_box = QHBoxLayout()
        self.class_buttons = QButtonGroup(self)
        self.class_buttons.setExclusive(True)
        self.counter = QLabel()
        self.counter.setAccessibleName("Labeling progress")
        hint = QLabel("Enter accepts · 1-9 picks a class · S skips · Backspace undoes")
        hint.setObjectName("panelSummary")
        layout = QVBoxLayout(self)
        layout.addWidget(self.text_label, 1)
        layout.addWidget(self.suggestion)
        layout.addLayout(self.buttons_box)
        layout.addWidget(self.counter)
        layout.addWidget(hint)
        document.pool.modelReset.connect(self._queue_changed)
        document.classifier_changed.connect(self._show_counter)
        self._build_class_buttons()
        self.show_next()

    # ---- the queue --------------------------------------------------------------------
    def _next_text(self) -> str | None:
        for text in self._document.pool.queue():
            if text not in self._skipped:
                return text
        return None

    @Slot()
    def show_next(self) -> None:
        self.current = self._next_text()
        if self.current is None:
            self.text_label.setText("Nothing left to label in the pool.")
            self.suggestion.clear()
            self._select(None)
        else:
            self.text_label.setText(self.current)
            suggested = self._document.pool.suggestion(self.current)
            if suggested is None:
                self.suggestion.setText("No suggestion yet: pick a class.")
                self._select(None)
            else:
                label, confidence = suggested
                self.suggestion.setText(f"Suggested: <b>{label}</b> ({confidence:.0%} sure)")
                self._select(label)
        self._show_counter()

    @Slot()
    def _queue_changed(self) -> None:
        """A new queue keeps the text on screen (the user may be reading it)."""
        if self.current is None or self.current not in self._document.pool.texts():
            self.show_next()

    # ---- keys -------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.accept_selected()
        elif key in CLASS_KEYS:
            self.pick(CLASS_KEYS[key])
        elif key == Qt.Key.Key_S:
            self.skip()
        elif key == Qt.Key.Key_Backspace:
            self.undo()
        else:
            super().keyPressEvent(event)

    def accept_selected(self) -> None:
        button = self.class_buttons.checkedButton()
        if button is not None:
            self._label(button.text().split(" ", 1)[1])

    def pick(self, number: int) -> None:
        names = self._document.class_names()
        if number < len(names):
            self._label(names[number])

    def skip(self) -> None:
        if self.current is not None:
            self._skipped.add(self.current)
            self.show_next()

    def undo(self) -> None:
        """Take back the last label given here (the text returns to the pool)."""
        if not self._history:
            return
        self._document.undo_stack.undo()
        text = self._history.pop()
        self.labeled -= 1
        self._since_training = max(self._since_training - 1, 0)
        self.current = text
        self.text_label.setText(text)
        self._show_counter()

    def _label(self, label: str) -> None:
        text = self.current
        if text is None:
            return
        self._history.append(text)
        self._document.label_from_pool(text, label)  # the pool changes: the next text shows
        self.labeled += 1
        self._since_training += 1
        if self._since_training >= self.retrain_every and self._train_panel.blocker() is None:
            self._since_training = 0
            self._train_panel.train()  # in the background; the next text is already shown

    # ---- display ----------------------------------------------------------------------
    def _build_class_buttons(self) -> None:
        for number, name in enumerate(self._document.class_names()[:9], start=1):
            button = QPushButton(f"{number} {name}")
            button.setCheckable(True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys go to the dialog
            button.clicked.connect(lambda _=False, n=name: self._label(n))
            self.class_buttons.addButton(button)
            self.buttons_box.addWidget(button)

    def _select(self, label: str | None) -> None:
        for button in self.class_buttons.buttons():
            button.setChecked(label is not None and button.text().split(" ", 1)[1] == label)

    @Slot()
    def _show_counter(self) -> None:
        text = f"{plural(self.labeled, 'text')} labeled"
        quality = self._document.quality
        start = self._accuracy_at_start
        if quality is not None and self.labeled and start is not None:
            text += f", estimated accuracy {start:.0%} -> {quality.accuracy:.0%}"
        elif quality is not None:
            text += f", estimated accuracy {quality.accuracy:.0%}"
        if self._train_panel.is_busy:
            text += " · retraining in the background…"
        self.counter.setText(text)
