"""A worker object that runs one engine job off the GUI thread (the Qt "worker object" pattern)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot

log = logging.getLogger(__name__)

# A job receives a progress callback (taking engine.progress.ProgressEvent) and a stop check,
# and returns its result. It runs in the worker's thread: it must not touch widgets.
Job = Callable[[Callable, Callable[[], bool]], object]

# Errors whose message is written for the user; anything else is a bug and is logged in full.
USER_ERROR_TYPES = (ValueError, OSError, ImportError)


class Worker(QObject):
    """Run `job` once, in whatever thread this object lives in, and report through signals.

    `abort()` is called from the GUI thread and only sets a flag: the job polls it through
    the `should_stop` callable it was given (the engine checks it between steps and batches).
    """

    progressed = Signal(str, int, int, object)  # stage, done, total (0 = unknown), metrics dict
    succeeded = Signal(object)  # the job's result
    failed = Signal(str)  # a message to show as it is
    cancelled = Signal()
    finished = Signal()  # after exactly one of succeeded / failed / cancelled

    def __init__(self, job: Job, *, name: str = "job"):
        super().__init__()
        self.name = name
        self._job = job
        self._abort = False

    def abort(self) -> None:
        self._abort = True

    def should_stop(self) -> bool:
        return self._abort

    @Slot()
    def run(self) -> None:
        try:
            result = self._job(self._report, self.should_stop)
        except Exception as error:  # noqa: BLE001 - every failure must reach the user, not the void
            if _is_cancel(error) or (self._abort and isinstance(error, KeyboardInterrupt)):
                self.cancelled.emit()
            elif isinstance(error, USER_ERROR_TYPES):
                log.info("%s failed: %s", self.name, error)
                self.failed.emit(user_message(error))
            else:
                log.exception("%s failed unexpectedly", self.name)
                self.failed.emit(
                    f"Unexpected error in {self.name}: {type(error).__name__}: {error}"
                )
        else:
            if self._abort:
                self.cancelled.emit()  # finished, but the user no longer wants the result
            else:
                self.succeeded.emit(result)
        # Back to the GUI thread before `finished`, so that deleteLater destroys this object
        # there: its destructor, run in the job's thread, takes Qt's connection lock and then
        # waits for the GIL, while the GUI thread holds the GIL and waits for that lock.
        application = QCoreApplication.instance()
        if application is not None:
            self.moveToThread(application.thread())
        self.finished.emit()

    def _report(self, event) -> None:
        self.progressed.emit(event.stage, int(event.done), int(event.total), dict(event.metrics))


def user_message(error: Exception) -> str:
    """A failed write in words (`[Errno 28] ...` says nothing a user can act on); any other
    user error (an OSError raised with a message of its own too) as its message reads."""
    if isinstance(error, OSError) and error.errno is not None:
        from engine.files import describe_os_error  # Qt-free and light: no torch behind it

        return describe_os_error(error)
    return str(error)


def _is_cancel(error: Exception) -> bool:
    # engine.progress is looked up, not imported: the job that imports the engine runs here too.
    progress = sys.modules.get("engine.progress")
    return progress is not None and isinstance(error, progress.Cancelled)
