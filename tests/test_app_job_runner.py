"""Background jobs: a finished worker is destroyed in the GUI thread, never in its own."""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt

from app.job_runner import JobRunner
from app.worker import Worker


def test_a_finished_worker_is_deleted_in_the_gui_thread(qtbot):
    # Destroyed in the job's thread, a worker's destructor holds Qt's connection lock while it
    # waits for the GIL; the GUI thread, holding the GIL, can be waiting for that lock (a
    # start-up that hung about one time in fifteen).
    runner = JobRunner()
    ran_in, destroyed_in, finished = [], [], []
    worker = Worker(lambda progress, should_stop: ran_in.append(threading.get_ident()))
    worker.destroyed.connect(
        lambda: destroyed_in.append(threading.get_ident()), Qt.ConnectionType.DirectConnection
    )
    runner.job_finished.connect(finished.append)
    runner.start(worker)
    del worker  # the runner and Qt own it from here, as in the app
    qtbot.waitUntil(lambda: bool(finished and destroyed_in), timeout=10_000)
    assert ran_in != [threading.get_ident()]  # the job did run in a thread of its own
    assert destroyed_in == [threading.get_ident()]
