"""Measure start-up: launch `fewshot-studio` and time the window and the model.

    python -m app.bench_startup [--runs 5] [--command "dist/Fewshot Studio/Fewshot Studio"]

Each run is a fresh process (`python -m app.main --startup-bench`, or the given command, e.g.
a desktop bundle's executable, with `--startup-bench`) with a fresh data dir (as on a first
start: the example project opens). Times are from just before the process is
spawned to: the window shown, the engine (torch) imported in the background, and the
backbone and meta-adapters loaded. Prints a Markdown table (median and best of the runs).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

EVENTS = ("window_shown", "engine_imported", "model_ready")
LABELS = {
    "window_shown": "window shown",
    "engine_imported": "engine (torch) imported",
    "model_ready": "model ready (backbone + meta-adapters)",
}


def launch_once(command: list[str] | None = None, timeout_s: float = 180.0) -> dict[str, float]:
    """Seconds from spawn to each event of one fresh start of `command` (default: this
    Python's `-m app.main`)."""
    command = command or [sys.executable, "-m", "app.main"]
    with tempfile.TemporaryDirectory() as data_dir:
        environment = {**os.environ, "FEWSHOT_DATA_DIR": data_dir, "HF_HUB_OFFLINE": "1"}
        started = time.time()
        completed = subprocess.run(
            [*command, "--startup-bench"],
            capture_output=True,
            text=True,
            env=environment,
            timeout=timeout_s,
            check=False,
        )
    times = {}
    for line in completed.stdout.splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(event, dict) and event.get("event") in EVENTS:
            times[event["event"]] = event["time"] - started
    missing = [e for e in EVENTS if e not in times]
    if missing:
        raise RuntimeError(
            f"start-up run did not report {missing}; stderr:\n{completed.stderr[-2000:]}"
        )
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--command", help="program to start (default: python -m app.main)")
    args = parser.parse_args(argv)
    command = shlex.split(args.command) if args.command else None
    launch_once(command)  # warm the file cache: a first start after boot reads from disk
    runs = [launch_once(command) for _ in range(args.runs)]
    platform_name = os.environ.get("QT_QPA_PLATFORM", "default")
    print(
        f"{args.command or 'python -m app.main'}: "
        f"{args.runs} fresh starts, Qt platform {platform_name}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPU cores\n"
    )
    print("| from launch to | median (s) | best (s) |")
    print("| --- | --- | --- |")
    for event in EVENTS:
        values = [run[event] for run in runs]
        print(f"| {LABELS[event]} | {statistics.median(values):.2f} | {min(values):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
