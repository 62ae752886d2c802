"""Fewshot Studio engine: few-shot text classification with Meta-Adapters (no Qt here).

The exported names are imported on first use (PEP 562), so that torch-free modules such as
`engine.onnx_predictor` and `engine.progress` can be imported without loading torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_EXPORTS = {
    "DEFAULT_BACKBONE": "engine.backbone",
    "Cancelled": "engine.progress",
    "Classifier": "engine.classifier",
    "MetaCheckpoint": "engine.formats",
    "ProgressEvent": "engine.progress",
    "load_backbone": "engine.backbone",
    "load_meta_checkpoint": "engine.formats",
}

__all__ = [
    "DEFAULT_BACKBONE",
    "Cancelled",
    "Classifier",
    "MetaCheckpoint",
    "ProgressEvent",
    "load_backbone",
    "load_meta_checkpoint",
]

if TYPE_CHECKING:
    from engine.backbone import DEFAULT_BACKBONE, load_backbone
    from engine.classifier import Classifier
    from engine.formats import MetaCheckpoint, load_meta_checkpoint
    from engine.progress import Cancelled, ProgressEvent


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
