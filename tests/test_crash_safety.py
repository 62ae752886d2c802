"""SIGKILL at random moments while files are saved: every file stays old or new, never torn."""

from __future__ import annotations

from engine.bench.crash_safety import run


def test_random_kills_leave_no_torn_file(tmp_path):
    result = run(kills=40, seed=1, folder=tmp_path)
    assert result["torn"] == 0
    assert result["leftover_temp_files"] > 0  # some kills did land inside a write
    # The sweep keeps a temp as young as a concurrent writer's, and removes every older one.
    assert result["kept_while_fresh"] == result["leftover_temp_files"]
    assert result["left_after_sweep"] == 0
