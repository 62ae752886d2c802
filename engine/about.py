"""What is installed and what would run: versions, device, backbone, active meta checkpoint.

`fewshot --version`, `fewshot info` and the app's Help > About all print this, so what a
user reports in a bug matches what the program used. Versions come from package metadata,
so `--version` answers without importing torch.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.backbone import Backbone
    from engine.locations import ActiveMeta

DISTRIBUTION = "fewshot-studio"
LIBRARIES = ("torch", "transformers", "onnxruntime", "pyside6-essentials")


def package_version(distribution: str = DISTRIBUTION) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def version_line(program: str) -> str:
    """`fewshot-studio 0.1.0 (Python 3.11.7; torch 2.13.0, ...)`, for --version."""
    libraries = ", ".join(f"{name} {package_version(name)}" for name in LIBRARIES)
    return f"{program} {package_version()} (Python {platform.python_version()}; {libraries})"


@dataclass(frozen=True)
class Installation:
    """The answers to "what would a new classifier be made with, here and now?"."""

    version: str
    libraries: dict[str, str]
    device: str
    backbone: str
    backbone_dir: Path | None
    backbone_fingerprint: str
    meta_name: str
    meta_fingerprint: str
    meta_trained: bool
    meta_folder: Path | None
    warning: str | None  # e.g. the shipped trained checkpoint could not be used

    def lines(self) -> list[str]:
        state = "trained" if self.meta_trained else "UNTRAINED"
        rows = [
            ("Fewshot Studio", self.version),
            ("Python", platform.python_version()),
            *((name, version) for name, version in self.libraries.items()),
            ("Device", self.device),
            ("Backbone", f"{self.backbone} (fingerprint {self.backbone_fingerprint})"),
            ("Backbone files", str(self.backbone_dir or "hub cache")),
            ("Meta-adapters", f"{self.meta_name} ({state}, fingerprint {self.meta_fingerprint})"),
            ("Checkpoint files", str(self.meta_folder or "none: built in memory")),
        ]
        width = max(len(label) for label, _ in rows) + 2
        text = [f"{label:<{width}}{value}" for label, value in rows]
        return text + ([f"WARNING: {self.warning}"] if self.warning else [])


def describe_installation(backbone: Backbone, active: ActiveMeta) -> Installation:
    return Installation(
        version=package_version(),
        libraries={name: package_version(name) for name in LIBRARIES},
        device=str(backbone.device),
        backbone=backbone.name,
        backbone_dir=backbone.model_dir,
        backbone_fingerprint=backbone.fingerprint,
        meta_name=active.checkpoint.name,
        meta_fingerprint=active.checkpoint.fingerprint,
        meta_trained=active.checkpoint.trained,
        meta_folder=active.folder,
        warning=active.warning,
    )
