"""Progress events and cancellation shared by every long-running engine call."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

# A run whose estimate passes this is announced (how long, and how to stop it): a minute is
# about when a person stops waiting and starts wondering whether it is stuck.
LONG_RUN_SECONDS = 60.0


@dataclass(frozen=True)
class ProgressEvent:
    stage: str  # what is being done, in words a user understands ("Fine-tuning", ...)
    done: int
    total: int  # 0 when unknown
    metrics: dict[str, float] = field(default_factory=dict)  # loss, accuracy, rows/s, ...
    unit: str = "step"  # what `done` counts


ProgressCallback = Callable[[ProgressEvent], None]
StopCheck = Callable[[], bool]  # returns True once the user has asked to stop


class Cancelled(Exception):
    """The user stopped the run; nothing it would have written was written."""


def check_cancel(should_stop: StopCheck | None) -> None:
    if should_stop is not None and should_stop():
        raise Cancelled("Cancelled by the user.")


class TimeLeft:
    """The seconds left in the current stretch of progress events, at its pace so far.

    A stretch is a run of events with one `total` whose `done` never goes back: the held-out
    check of a fit, then its fine-tuning, are two; the folds of a quality estimate, which
    count on, are one. Engine stages report after each step, so a stretch whose first event
    says `done == 1` has just ended its first step, which began at the event before (or when
    this object was made, just before the work began): the estimate exists from that first
    step on. A stretch starting at any other count (a resumed run, progress in scaled units)
    is timed from its first event, and estimated from its second.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._last = clock()  # when the previous event came (or the work began)
        self._total, self._done = 0, 0
        self._since, self._from = self._last, 0  # where the current stretch began

    def update(self, event: ProgressEvent) -> float | None:
        """Seconds left at the pace so far; None while unknown (no total, no step measured)."""
        now = self._clock()
        if event.total != self._total or event.done < self._done:  # a new stretch
            first_step = event.done == 1
            self._since, self._from = (self._last, 0) if first_step else (now, event.done)
        self._last, self._total, self._done = now, event.total, event.done
        if not event.total or event.done <= self._from:
            return None
        pace = (now - self._since) / (event.done - self._from)
        return pace * max(event.total - event.done, 0)


def duration_words(seconds: float) -> str:
    """`about 40 seconds`, `about 16 minutes`, `about 5 hours`: rounded as a person would."""
    if seconds < 55:
        return f"about {max(5, round(seconds / 5) * 5):.0f} seconds"
    if seconds < 90:
        return "about a minute"
    if seconds < 90 * 60:
        return f"about {round(seconds / 60)} minutes"
    return f"about {round(seconds / 1800) / 2:g} hours"  # 1.5, 2, 2.5, ...
