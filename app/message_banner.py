"""An inline, non-blocking message strip: errors and results show here, never in a modal box."""

from __future__ import annotations

import logging
from enum import Enum

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

log = logging.getLogger(__name__)


class MessageKind(Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    SUCCESS = "success"


COLOURS = {  # background, border, text: readable in light and dark themes alike
    MessageKind.ERROR: ("#fdecea", "#e0796f", "#611a15"),
    MessageKind.WARNING: ("#fff4e5", "#f0ad4e", "#663c00"),
    MessageKind.INFO: ("#e8f1fb", "#7aa7d9", "#0d3c61"),
    MessageKind.SUCCESS: ("#edf7ed", "#7bc47f", "#1e4620"),
}
INFO_TIMEOUT_MS = 12_000  # errors stay until dismissed; good news may fade
OVERLAY_MARGIN = 8


class MessageBanner(QFrame):
    """Shows one message at a time with a close button; modal boxes would block the user (and
    tests), and a message in place says which window it is about."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("messageBanner")
        self.setAccessibleName("Messages")
        self.kind: MessageKind | None = None
        self._label = QLabel()
        self._label.setWordWrap(True)
        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._label.setTextFormat(Qt.TextFormat.PlainText)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss this message")
        close.setAccessibleName("Dismiss message")
        close.clicked.connect(self.clear)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self._label, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.clear)
        self._host: QWidget | None = None
        self.hide()

    def float_over(self, host: QWidget) -> None:
        """Show over the bottom of `host` instead of in a layout: a message that comes and
        goes must not push the table down and back (a double-click would land on another
        row), and the bottom of a panel is where it hides the least."""
        self._host = host
        self.setParent(host)
        self.setAutoFillBackground(True)
        host.installEventFilter(self)
        self.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._host and event.type() == QEvent.Type.Resize and self.isVisible():
            self._place()
        return super().eventFilter(watched, event)

    def _place(self) -> None:
        width = self._host.width() - 2 * OVERLAY_MARGIN
        height = (
            self.heightForWidth(width) if self.hasHeightForWidth() else self.sizeHint().height()
        )
        height = max(height, self.sizeHint().height())
        top = max(self._host.height() - height - OVERLAY_MARGIN, OVERLAY_MARGIN)
        self.setGeometry(OVERLAY_MARGIN, top, width, height)  # at the bottom, like a toast
        self.raise_()

    def text(self) -> str:
        return self._label.text() if self.isVisibleTo(self.parentWidget()) else ""

    def show_message(self, text: str, kind: MessageKind = MessageKind.INFO) -> None:
        background, border, colour = COLOURS[kind]
        self.setStyleSheet(
            f"#messageBanner {{ background: {background}; border: 1px solid {border};"
            f" border-radius: 4px; }} #messageBanner QLabel {{ color: {colour}; }}"
            f" #messageBanner QToolButton {{ color: {colour}; }}"
        )
        self.kind = kind
        self._label.setText(text)
        self._label.setAccessibleDescription(text)
        self.show()
        if self._host is not None:
            self._place()
        if kind in (MessageKind.INFO, MessageKind.SUCCESS):
            self._timer.start(INFO_TIMEOUT_MS)
        else:
            self._timer.stop()

    def show_error(self, text: str) -> None:
        log.info("shown to the user: %s", text)
        self.show_message(text, MessageKind.ERROR)

    def clear(self) -> None:
        self.kind = None
        self._label.clear()
        self.hide()
