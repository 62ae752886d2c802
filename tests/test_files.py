"""engine/files.py: atomic writes, the sweep of temps a kill left behind, failed writes in words."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

import pytest

from engine.files import (
    STALE_TEMP_SECONDS,
    atomic_path,
    atomic_write_bytes,
    describe_os_error,
)


def left(path: Path, seconds_ago: float, content: str | None = "x") -> Path:
    """A file (or, with content None, a folder) last touched `seconds_ago`."""
    if content is None:
        path.mkdir()
    else:
        path.write_text(content)
    then = time.time() - seconds_ago
    os.utime(path, (then, then))
    return path


OLD = STALE_TEMP_SECONDS + 60


def test_a_successful_write_removes_only_old_temps_of_the_same_file(tmp_path):
    target = tmp_path / "topics"
    stale = left(tmp_path / ".topics.k3j_9x0a.tmp", OLD, "half of a write a kill cut short")
    kept = [
        left(tmp_path / ".topics.a1b2c3d4.tmp", OLD - 120),  # a concurrent writer's, live
        left(tmp_path / ".topics.fewshot.json.q1w2e3r4.tmp", OLD),  # another file's temp
        left(tmp_path / ".topics.notours.tmp", OLD),  # not a name mkstemp makes
        left(tmp_path / "topics.k3j_9x0b.tmp", OLD),  # not hidden
        left(tmp_path / ".topics.0a0b0c0d.tmp", OLD, None),  # a folder (an ONNX build)
    ]
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert not stale.exists()
    assert [path for path in kept if not path.exists()] == []


def test_a_failed_write_keeps_the_old_file_leaves_no_temp_and_sweeps_nothing(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("previous results\n")
    left(tmp_path / ".out.csv.zzzzzzzz.tmp", OLD)
    with pytest.raises(OSError) as raised, atomic_path(target) as temp:
        temp.write_text("half of the new")
        raise OSError(errno.ENOSPC, "No space left on device")
    assert target.read_text() == "previous results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.csv.zzzzzzzz.tmp", "out.csv"]
    assert raised.value.filename == str(target)  # write() named no file: the target is named


@pytest.mark.parametrize(
    "code, strerror, advice",
    [
        (errno.ENOSPC, "No space left on device", "free some disk space or choose another disk"),
        (errno.EROFS, "Read-only file system", "choose a folder you can write to"),
        (errno.ENAMETOOLONG, "File name too long", "choose a shorter file name"),
        (errno.ENOTDIR, "Not a directory", "a part of the path is a file, not a folder"),
        (errno.EIO, "Input/output error", "check the path"),
    ],
)
def test_failed_writes_in_words(tmp_path, code, strerror, advice):
    temp = tmp_path / ".topics.safetensors.ab12cd34.tmp"
    assert describe_os_error(OSError(code, strerror, str(temp))) == (
        f"cannot use {tmp_path / 'topics.safetensors'}: {strerror} ({advice}); nothing was changed."
    )  # the file the user chose, not the hidden temp
    said = describe_os_error(OSError(code, strerror), tmp_path / "chosen.csv")
    assert said.startswith(f"cannot use {tmp_path / 'chosen.csv'}: {strerror} ({advice})")
    said = describe_os_error(OSError(code, strerror))  # as a failed write() says it
    assert said.startswith(f"cannot write: {strerror} ({advice})")
    building = tmp_path / ".export.0a1b2c3d.tmp" / "model.onnx"  # an ONNX folder being built
    said = describe_os_error(OSError(code, strerror, str(building)))
    assert said.startswith(f"cannot use {tmp_path / 'export' / 'model.onnx'}: ")


@pytest.mark.parametrize(
    "where, advice",
    [
        (lambda folder: folder / "a-file" / "project.json", "a part of the path is a file"),
        (lambda folder: folder / ("n" * 300 + ".json"), "choose a shorter file name"),
        (lambda folder: folder, "give a file name, not a folder"),
    ],
    ids=["through a file", "name too long", "a folder"],
)
def test_real_failures_keep_everything_and_say_what_to_do(tmp_path, where, advice):
    (tmp_path / "a-file").write_text("mine")
    path = where(tmp_path)
    before = sorted(tmp_path.iterdir())
    with pytest.raises(OSError) as raised:
        atomic_write_bytes(path, b"new")
    assert advice in describe_os_error(raised.value, path)
    assert sorted(tmp_path.iterdir()) == before and (tmp_path / "a-file").read_text() == "mine"
    assert list(tmp_path.parent.glob(f".{tmp_path.name}.*.tmp")) == []  # the folder's case
