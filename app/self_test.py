"""`fewshot-studio --self-test`: does this installation work, end to end, without a screen?

Opens the main window offscreen with a throwaway data dir, loads the backbone and the shipped
meta-trained checkpoint, trains the example project, and checks one Try-it prediction, the
way a user's first minute goes. Prints one line per stage; exits 0, or 1 naming what failed.
The wheel test and the desktop bundle's build script run it on the installed copy.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

TRY_TEXT, TRY_EXPECTED = "The striker scored a late goal to win the cup match", "sports"
STAGE_TIMEOUT_S = 600.0  # a slow laptop's first start reads ~100 MB of weights from disk


class SelfTestFailure(Exception):
    pass


def run_self_test() -> int:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    with tempfile.TemporaryDirectory(prefix="fewshot-self-test-") as data_dir:
        os.environ["FEWSHOT_DATA_DIR"] = data_dir  # no user settings, autosave or recent files
        started = time.monotonic()
        try:
            check_installation(lambda stage: report(stage, started))
        except SelfTestFailure as failure:
            print(f"FAILED  {failure}", file=sys.stderr, flush=True)
            return 1
    print(f"Self-test passed in {time.monotonic() - started:.1f} s.", flush=True)
    return 0


def report(stage: str, started: float) -> None:
    print(f"ok  {time.monotonic() - started:6.1f} s  {stage}", flush=True)


def check_installation(passed: Callable[[str], None]) -> None:
    from PySide6.QtWidgets import QApplication

    from app.assets import example_project_path
    from app.main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0]])
    window = MainWindow()
    window.show()
    window.start(example_project_path())
    try:
        wait_for(app, window, lambda: window.host.is_ready, "the backbone and meta-adapters")
        model = window.host.model
        if model.warning or not model.meta.trained:
            raise SelfTestFailure(f"the shipped trained checkpoint is not in use: {model.warning}")
        passed(
            f"window, backbone {model.backbone.name} on {model.backbone.device}, "
            f"meta-adapters {model.meta.name} ({model.meta.fingerprint}, from {model.meta_folder})"
        )
        window.train_panel.train()
        wait_for(app, window, lambda: window.host.classifier is not None, "training")
        classifier = window.host.classifier
        passed(f"trained on the example project: classes {', '.join(classifier.labels)}")
        window.try_panel.input.setPlainText(TRY_TEXT)
        wait_for(app, window, lambda: "%" in window.try_panel.prediction.text(), "Try it")
        prediction = window.try_panel.prediction.text()
        if not prediction.startswith(TRY_EXPECTED):
            raise SelfTestFailure(f"Try it said {prediction!r} for {TRY_TEXT!r}, not sports")
        passed(f"Try it: {TRY_TEXT!r} -> {prediction}")
    finally:
        window.document.mark_saved(Path(os.environ["FEWSHOT_DATA_DIR"], "self-test.json"))
        window.close()


def wait_for(app, window, condition: Callable[[], bool], what: str) -> None:
    """Run the event loop until `condition`; fail on an error banner or after the timeout."""
    from PySide6.QtCore import QEventLoop

    from app.message_banner import MessageKind

    deadline = time.monotonic() + STAGE_TIMEOUT_S
    while not condition():
        if window.banner.kind is MessageKind.ERROR and window.banner.text():
            raise SelfTestFailure(f"while waiting for {what}: {window.banner.text()}")
        if time.monotonic() > deadline:
            raise SelfTestFailure(f"{what} took longer than {STAGE_TIMEOUT_S:.0f} s")
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.01)
