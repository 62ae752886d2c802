"""Owns the threads of background jobs: start, abort, and stop them all on close."""

from __future__ import annotations

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.worker import Worker


class JobRunner(QObject):
    """One QThread per running job, keyed by a name so a second "train" cannot start twice.

    Callers create the Worker, connect its signals to slots of GUI objects (so they run in
    the GUI thread), then call start(). Threads and workers are deleted in the GUI thread
    when done (the worker moves itself back there before it says it has finished).
    """

    job_finished = Signal(str)  # the name, once its thread has ended and the name is free

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._running: dict[str, tuple[Worker, QThread]] = {}
        self._stopped = False

    def start(self, worker: Worker) -> None:
        """Run `worker` in a new thread; after stop_all (the window is closing) it is dropped."""
        if self._stopped:
            worker.deleteLater()
            return
        if worker.name in self._running:
            raise RuntimeError(f"A {worker.name!r} job is already running.")
        thread = QThread()
        thread.setObjectName(worker.name)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.finished.connect(thread.quit)
        worker.finished.connect(worker.deleteLater)
        thread.finished.connect(self._forget)
        thread.finished.connect(thread.deleteLater)
        self._running[worker.name] = (worker, thread)
        thread.start()

    def is_running(self, name: str) -> bool:
        return name in self._running

    def abort(self, name: str) -> None:
        if name in self._running:
            self._running[name][0].abort()

    def stop_all(self, timeout_ms: int = 10_000) -> None:
        """Ask every job to stop and wait for its thread (quit() + wait(), as on close); no
        job starts after this."""
        self._stopped = True
        for worker, _ in self._running.values():
            worker.abort()
        for _, thread in list(self._running.values()):
            thread.quit()
            thread.wait(timeout_ms)

    @Slot()
    def _forget(self) -> None:
        thread = self.sender()
        for name, (_, running) in list(self._running.items()):
            if running is thread:
                running.wait()  # `finished` comes from the thread just before it ends
                del self._running[name]
                self.job_finished.emit(name)
