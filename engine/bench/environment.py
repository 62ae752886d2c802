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


def device_name(device) -> str:
    """ "cpu", or the accelerator with its model, e.g. "cuda (NVIDIA H200)"."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type


def environment(seed: int, device="cpu") -> dict:
    import torch

    versions = {}
    for package in ("torch", "transformers", "onnxruntime", "tokenizers", "setfit", "scikit-learn"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return {
        "seed": seed,
        "device": device_name(device),
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "versions": versions,
    }


def describe(env: dict) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    return (
        f"seed {env['seed']} | device {env.get('device', 'cpu')} | {env['cpu']}, {env['cores']} "
        f"cores, {env['torch_threads']} torch threads | Python {env['python']} | {versions}"
    )


def start_bench(seed: int):
    """Seed torch, set its threads as the CLI does (FEWSHOT_THREADS overrides), load the
    embedded backbone and the shipped meta checkpoint, and print the environment line every
    table carries: (backbone, meta checkpoint, environment)."""
    import torch

    from engine.backbone import load_backbone
    from engine.locations import default_meta_checkpoint
    from engine.threads import apply_threads

    apply_threads()
    torch.manual_seed(seed)
    backbone = load_backbone()
    env = environment(seed)
    print(describe(env), flush=True)
    return backbone, default_meta_checkpoint(backbone), env
