"""Fewshot Studio engine: few-shot text classification with Meta-Adapters (no Qt here)."""

from engine.backbone import DEFAULT_BACKBONE, load_backbone
from engine.classifier import Classifier
from engine.formats import MetaCheckpoint, load_meta_checkpoint
from engine.progress import Cancelled, ProgressEvent

__all__ = [
    "DEFAULT_BACKBONE",
    "Cancelled",
    "Classifier",
    "MetaCheckpoint",
    "ProgressEvent",
    "load_backbone",
    "load_meta_checkpoint",
]
