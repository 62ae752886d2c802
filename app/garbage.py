"""Python's garbage collection, moved to the GUI thread.

Automatic collection runs in whichever thread happens to allocate. When it runs in a worker
thread (say, while the backbone loads) and finds a reference cycle holding a Qt widget, it
deletes that widget outside the GUI thread, and the process crashes (seen as a segfault
"Garbage-collecting" in load_backbone). So the app turns automatic collection off and collects
from a GUI-thread timer instead, as often as the usual thresholds would have.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500


def collect_in_gui_thread(parent: QObject) -> QTimer:
    """Disable automatic collection; return the timer (owned by `parent`) that replaces it."""
    gc.disable()
    timer = QTimer(parent)
    timer.setInterval(INTERVAL_MS)
    timer.timeout.connect(collect_due_generation)
    timer.start()
    return timer


def collect_due_generation() -> None:
    """Collect the oldest generation whose threshold was passed, like the automatic collector."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    due = [generation for generation in range(3) if counts[generation] > thresholds[generation]]
    if due:
        gc.collect(max(due))
