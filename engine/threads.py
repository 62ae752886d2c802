"""How many CPU threads torch uses: one per physical core this process may run on.

torch's default is every logical CPU of the machine, which on a hyper-threaded laptop, in a
container limited to 2 CPUs or beside another busy job oversubscribes the cores; the docs
showed two threads collapsing under load (26.8 vs 78 texts/s). The CLI and the app set the
count once at start; FEWSHOT_THREADS (or a command's --threads) overrides it.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

THREADS_VARIABLE = "FEWSHOT_THREADS"
SYSFS_CPUS = Path("/sys/devices/system/cpu")
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def allowed_cpus() -> set[int]:
    """The logical CPUs this process may run on (its affinity; all of them where unknown)."""
    if hasattr(os, "sched_getaffinity"):
        return set(os.sched_getaffinity(0))
    return set(range(os.cpu_count() or 1))


def physical_cores(cpus: set[int], sysfs: Path = SYSFS_CPUS) -> int:
    """Distinct cores among `cpus` (hyper-thread siblings count once); len(cpus) without sysfs."""
    cores = set()
    for cpu in cpus:
        siblings = sysfs / f"cpu{cpu}" / "topology" / "thread_siblings_list"
        try:
            cores.add(siblings.read_text().strip())
        except OSError:
            return len(cpus)
    return max(len(cores), 1)


def cgroup_cpu_limit(path: Path = CGROUP_CPU_MAX) -> int | None:
    """The container's CPU quota rounded up (cgroup v2 `cpu.max`), None when unlimited."""
    try:
        quota, period = path.read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    return max(math.ceil(int(quota) / int(period)), 1)


def default_threads() -> int:
    cores = physical_cores(allowed_cpus())
    limit = cgroup_cpu_limit()
    return min(cores, limit) if limit else cores


def choose_threads(requested: int | None = None) -> int:
    """`requested`, else FEWSHOT_THREADS, else default_threads(); a clear error if invalid."""
    value = requested if requested is not None else os.environ.get(THREADS_VARIABLE)
    if value is None or value == "":
        return default_threads()
    try:
        threads = int(value)
    except ValueError:
        threads = 0
    if threads < 1:
        source = "--threads" if requested is not None else THREADS_VARIABLE
        raise ValueError(f"{source} must be a whole number of threads, 1 or more, got {value!r}.")
    return threads


def apply_threads(requested: int | None = None) -> int:
    """Set torch's intra-op threads by the policy above; returns the count."""
    import torch

    threads = choose_threads(requested)
    torch.set_num_threads(threads)
    return threads
