"""Run by torchrun in test_distributed: `fewshot metatrain` as one rank, on the tiny backbone,
reporting the device it loaded the model on, how often it validated and what it wrote.
Rank 0 indexes the text slowly, so a rank that did not wait for its caches would write its own.

    python distributed_cli_worker.py WATCHED REPORTS metatrain ARGS...

Writes are seen by an audit hook (every open for writing, every rename) under WATCHED; the
report goes to REPORTS/rank-RANK.json.
"""

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from conftest import make_tiny_backbone  # noqa: E402

import engine.backbone  # noqa: E402
import engine.metatrain  # noqa: E402
import engine.tasks  # noqa: E402
from engine.cli import main  # noqa: E402

WRITING = os.O_WRONLY | os.O_RDWR | os.O_CREAT


def run(watched: str, reports: str, *argv: str) -> int:
    writes, devices, validations = [], [], []

    def record(event, args):
        if event == "open" and (args[2] or 0) & WRITING:
            path = args[0]
        elif event == "os.rename":
            path = args[1]
        else:
            return
        if isinstance(path, (str, os.PathLike)) and os.fspath(path).startswith(watched):
            writes.append(os.path.relpath(path, watched))

    def tiny_backbone(name, *, device, **options):
        backbone = make_tiny_backbone()
        backbone.model.to(device)
        devices.append(str(backbone.device))
        return backbone

    def counted_validate(*args, **kwargs):
        validations.append(1)
        return real_validate(*args, **kwargs)

    def slow_index(*args, **kwargs):
        time.sleep(2)
        return real_index(*args, **kwargs)

    real_validate, real_index = engine.metatrain.validate, engine.tasks.build_word_index
    if os.environ["RANK"] == "0":
        engine.tasks.build_word_index = slow_index
    engine.metatrain.validate = counted_validate
    engine.backbone.load_backbone = tiny_backbone  # the CLI imports it when it runs
    sys.addaudithook(record)
    code = main(list(argv))
    report = {
        "local_rank": int(os.environ["LOCAL_RANK"]),
        "devices": devices,
        "validations": len(validations),
        "writes": writes,
    }
    Path(reports, f"rank-{os.environ['RANK']}.json").write_text(json.dumps(report))
    return code


if __name__ == "__main__":
    sys.exit(run(*sys.argv[1:]))
