"""Kill a process at random moments while it saves a classifier, a project and a batch output,
and count the files left torn (neither the old complete file nor the new one).

    python -m engine.bench.crash_safety [--kills 300] [--seed 0] [--folder DIR]

The writer runs the same code the program saves with: `atomic_write_bytes` (classifier files,
as Save classifier and Classifier.save write them), `atomic_write_text` (projects and their
recovery copy) and `atomic_path` with a CSV written chunk by chunk (classify_csv's output).
It alternates two real versions of each file; SIGKILL comes after a random delay, so it
lands anywhere: in the middle of a chunk, between the write and the rename, after it. After
each kill every file must equal one of its two versions. Left-over hidden temp files (a kill
skips the clean-up) are counted too: each is a kill that landed inside a write, and none
ever replaces a file. Then the sweep: a save right after the kills must keep them (they are
younger than `STALE_TEMP_SECONDS`, as a concurrent writer's would be), and a save once they
are older (their clocks set back) must remove every one.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from engine.files import STALE_TEMP_SECONDS, atomic_write_bytes

WRITER = """
import sys
from pathlib import Path
from engine.files import atomic_path, atomic_write_bytes, atomic_write_text

folder = Path(sys.argv[1])
versions = {name: [(folder / f"{name}.{v}").read_bytes() for v in "ab"] for name in NAMES}
print("ready", flush=True)
turn = 0
while True:
    turn = 1 - turn
    atomic_write_bytes(folder / "topics.safetensors", versions["classifier"][turn])
    atomic_write_text(folder / "topics.fewshot.json", versions["project"][turn].decode())
    rows = versions["batch"][turn].splitlines(keepends=True)
    with atomic_path(folder / "classified.csv") as temp, open(temp, "wb") as out:
        for start in range(0, len(rows), 500):
            out.writelines(rows[start : start + 500])
""".replace("NAMES", repr(("classifier", "project", "batch")))
TARGETS = {
    "classifier": "topics.safetensors",
    "project": "topics.fewshot.json",
    "batch": "classified.csv",
}


def write_versions(folder: Path, rng: random.Random) -> None:
    """Two versions of each file, of the sizes the program writes (bytes differ throughout)."""
    for version in "ab":
        header = json.dumps({"version": version, "labels": ["a", "b"]}).encode()
        classifier = header + bytes(rng.getrandbits(8) for _ in range(200_000))
        examples = [{"text": f"example {i} {version}", "label": "a"} for i in range(2_000)]
        project = json.dumps({"format": "fewshot-studio-project", "examples": examples})
        batch = "".join(f"{i},text {i} {version},a,0.{i % 97:02d}\n" for i in range(40_000))
        for name, data in (
            ("classifier", classifier),
            ("project", project.encode()),
            ("batch", batch.encode()),
        ):
            (folder / f"{name}.{version}").write_bytes(data)
    for name, target in TARGETS.items():
        (folder / target).write_bytes((folder / f"{name}.a").read_bytes())


def run(kills: int, seed: int, folder: Path) -> dict:
    rng = random.Random(seed)
    write_versions(folder, rng)
    versions = {name: {(folder / f"{name}.{v}").read_bytes() for v in "ab"} for name in TARGETS}
    root = Path(__file__).resolve().parents[2]
    torn = 0
    for _ in range(kills):
        process = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(folder)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=root,
        )
        assert process.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.25))
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        for name, target in TARGETS.items():
            content = (folder / target).read_bytes()
            torn += content not in versions[name]
    leftovers = temp_files(folder)
    save_each(folder)
    kept = len(temp_files(folder))
    stale = time.time() - STALE_TEMP_SECONDS - 60
    for temp in leftovers:  # as if the next save came after the age
        os.utime(temp, (stale, stale))
    save_each(folder)
    return {
        "kills": kills,
        "torn": torn,
        "leftover_temp_files": len(leftovers),
        "kept_while_fresh": kept,
        "left_after_sweep": len(temp_files(folder)),
        "seed": seed,
    }


def temp_files(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.tmp"))


def save_each(folder: Path) -> None:
    """One successful save of each file, with its content unchanged: the sweep's occasion."""
    for target in TARGETS.values():
        atomic_write_bytes(folder / target, (folder / target).read_bytes())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folder", type=Path, help="work folder (default: a new temp folder)")
    args = parser.parse_args(argv)
    folder = args.folder or Path(tempfile.mkdtemp(prefix="fewshot-crash-"))
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    result = run(args.kills, args.seed, folder)
    print(
        f"{result['kills']} kills, {result['torn']} torn files "
        f"({len(TARGETS)} files checked after each), "
        f"{result['leftover_temp_files']} left-over temp files ({result['kept_while_fresh']} "
        f"kept by a save at once, {result['left_after_sweep']} left by a save once older than "
        f"{STALE_TEMP_SECONDS / 3600:g} h); seed {args.seed}, "
        f"{time.perf_counter() - started:.0f} s"
    )
    return 1 if result["torn"] or result["left_after_sweep"] else 0


if __name__ == "__main__":
    sys.exit(main())
