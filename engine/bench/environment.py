"""What a benchmark ran on: printed with every table so numbers can be compared honestly."""

from __future__ import annotations

import os
import platform
from importlib import metadata


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(seed: int) -> dict:
    import torch

    versions = {}
    for package in ("torch", "transformers", "onnxruntime", "tokenizers", "setfit", "scikit-learn"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return {
        "seed": seed,
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "versions": versions,
    }


def describe(env: dict) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    return (
        f"seed {env['seed']} | {env['cpu']}, {env['cores']} cores, {env['torch_threads']} torch "
        f"threads | Python {env['python']} | {versions}"
    )
