"""The thread policy: physical cores this process may use, a container's quota, overrides."""

from __future__ import annotations

import pytest

from engine.threads import (
    THREADS_VARIABLE,
    apply_threads,
    cgroup_cpu_limit,
    choose_threads,
    default_threads,
    physical_cores,
)


def fake_sysfs(root, siblings: dict[int, str]):
    for cpu, text in siblings.items():
        topology = root / f"cpu{cpu}" / "topology"
        topology.mkdir(parents=True)
        (topology / "thread_siblings_list").write_text(text + "\n")
    return root


def test_hyper_thread_siblings_count_once(tmp_path):
    sysfs = fake_sysfs(tmp_path, {0: "0,4", 4: "0,4", 1: "1,5", 5: "1,5", 2: "2,6"})
    assert physical_cores({0, 1, 4, 5}, sysfs) == 2
    assert physical_cores({0, 1, 2}, sysfs) == 3
    assert physical_cores({0, 3}, sysfs) == 2  # no topology for cpu3: count logical CPUs


@pytest.mark.parametrize(
    "content, limit", [("max 100000", None), ("150000 100000", 2), ("50000 100000", 1)]
)
def test_a_container_quota_caps_the_threads(tmp_path, content, limit):
    path = tmp_path / "cpu.max"
    path.write_text(content)
    assert cgroup_cpu_limit(path) == limit
    assert cgroup_cpu_limit(tmp_path / "absent") is None


def test_overrides_and_their_errors(monkeypatch):
    monkeypatch.delenv(THREADS_VARIABLE, raising=False)
    assert 1 <= default_threads() == choose_threads()
    assert choose_threads(3) == 3
    monkeypatch.setenv(THREADS_VARIABLE, "5")
    assert choose_threads() == 5 and choose_threads(2) == 2  # --threads wins
    monkeypatch.setenv(THREADS_VARIABLE, "many")
    with pytest.raises(ValueError, match="FEWSHOT_THREADS must be a whole number"):
        choose_threads()
    with pytest.raises(ValueError, match="--threads must be a whole number"):
        choose_threads(0)


def test_apply_sets_torch(monkeypatch):
    import torch

    before = torch.get_num_threads()
    monkeypatch.setenv(THREADS_VARIABLE, "1")
    try:
        assert apply_threads() == 1 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
