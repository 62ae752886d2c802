"""Entry point of `fewshot-studio`: show the window first, load the engine behind it."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.main_window import MainWindow
from app.startup_check import install_fatal_handler
from app.style import STYLE_SHEET

BENCH_FLAG = "--startup-bench"  # print start-up timestamps as JSON lines and quit when ready
ENGINE_CLI_FLAG = "--engine-cli"  # a frozen bundle runs `fewshot ...` through its own executable


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="fewshot-studio", description="Fewshot Studio")
    parser.add_argument("project", nargs="?", type=Path, help="a .fewshot.json project to open")
    parser.add_argument("--version", action="store_true", help="print versions and exit")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="open the window offscreen, train the example project, try one text, and exit "
        "0 if all of it works",
    )
    parser.add_argument(BENCH_FLAG, action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    return parser.parse_known_args(argv)[0]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == [ENGINE_CLI_FLAG]:  # see packaging/README.md: meta-training in a bundle
        from engine.cli import main as engine_cli

        return engine_cli(argv[1:])
    args = parse_args(argv)
    if args.version:
        from engine.about import version_line

        print(version_line("fewshot-studio"))
        return 0
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    install_fatal_handler("fewshot-studio")
    if args.self_test:
        from app.self_test import run_self_test

        return run_self_test()
    app = QApplication([sys.argv[0], *argv])
    app.setApplicationName("Fewshot Studio")
    app.setOrganizationName("FewshotStudio")
    app.setStyle("Fusion")
    app.setStyleSheet(STYLE_SHEET)
    window = MainWindow()
    window.show()
    if args.startup_bench:
        _report_startup(window)
    # Once the event loop runs: the engine import and model load happen behind the window.
    QTimer.singleShot(0, lambda: window.start(args.project))
    return app.exec()


def _report_startup(window: MainWindow) -> None:
    def emit(event: str) -> None:
        print(json.dumps({"event": event, "time": time.time()}), flush=True)

    def shown() -> None:
        # Exposed on the screen (X server or offscreen buffer) and its first paint done.
        handle = window.windowHandle()
        if handle is not None and handle.isExposed():
            emit("window_shown")
        else:
            QTimer.singleShot(1, shown)

    QTimer.singleShot(0, shown)
    window.host.engine_ready.connect(lambda: emit("engine_imported"))

    def ready() -> None:
        emit("model_ready")
        window.document.undo_stack.setClean()  # nothing to ask on the way out
        window.close()

    window.host.model_ready.connect(ready)
    window.host.model_failed.connect(lambda message: (emit("model_failed"), window.close()))


if __name__ == "__main__":
    sys.exit(main())
