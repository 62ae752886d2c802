"""Progress events and cancellation shared by every long-running engine call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ProgressEvent:
    stage: str  # what is being done, in words a user understands ("Fine-tuning", ...)
    done: int
    total: int  # 0 when unknown
    metrics: dict[str, float] = field(default_factory=dict)  # loss, accuracy, rows/s, ...


ProgressCallback = Callable[[ProgressEvent], None]
StopCheck = Callable[[], bool]  # returns True once the user has asked to stop


class Cancelled(Exception):
    """The user stopped the run; nothing it would have written was written."""


def check_cancel(should_stop: StopCheck | None) -> None:
    if should_stop is not None and should_stop():
        raise Cancelled("Cancelled by the user.")
