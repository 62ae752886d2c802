"""Where checkpoints live: shipped ones under resources/meta/, the user's own in the data dir."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import platformdirs

from engine.backbone import DEFAULT_BACKBONE, Backbone
from engine.formats import (
    META_CONFIG_FILE,
    FormatError,
    MetaCheckpoint,
    initial_meta_checkpoint,
    load_meta_checkpoint,
)

log = logging.getLogger(__name__)
APP_NAME = "FewshotStudio"
DATA_DIR_VARIABLE = "FEWSHOT_DATA_DIR"  # overrides the per-user data dir (tests, portable installs)


def user_data_dir() -> Path:
    override = os.environ.get(DATA_DIR_VARIABLE)
    path = Path(override) if override else platformdirs.user_data_path(APP_NAME, appauthor=False)
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_cache_dir() -> Path:
    """Rebuildable data (word indexes, clusters): beside user data when overridden."""
    override = os.environ.get(DATA_DIR_VARIABLE)
    path = (
        Path(override) / "cache"
        if override
        else platformdirs.user_cache_path(APP_NAME, appauthor=False)
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


def shipped_meta_root() -> Path:
    # `/` first: in a frozen bundle `files()` is a MultiplexedPath, whose str() is no path.
    return Path(str(resources.files("resources") / "meta"))


def user_meta_root() -> Path:
    return user_data_dir() / "meta"


def meta_checkpoint_dirs() -> list[Path]:
    """Every checkpoint folder, shipped ones first."""
    roots = [shipped_meta_root(), user_meta_root()]
    return [
        config.parent
        for root in roots
        if root.is_dir()
        for config in sorted(root.rglob(META_CONFIG_FILE))
    ]


def read_checkpoint_summary(folder: Path) -> dict:
    """config.json of a checkpoint folder, without loading its tensors."""
    return json.loads((folder / META_CONFIG_FILE).read_text())


@dataclass(frozen=True)
class ActiveMeta:
    """The checkpoint a new classifier would use, where it came from, and what to warn about."""

    checkpoint: MetaCheckpoint
    folder: Path | None  # None: the untrained checkpoint, made in memory
    warning: str | None  # for the user to see when no trained checkpoint could be used


def active_meta_checkpoint(backbone: Backbone) -> ActiveMeta:
    """The first shipped or user checkpoint made for `backbone`, else the untrained one."""
    problems = []
    for folder in meta_checkpoint_dirs():
        try:
            if read_checkpoint_summary(folder)["backbone_fingerprint"] == backbone.fingerprint:
                return ActiveMeta(load_meta_checkpoint(folder, backbone=backbone), folder, None)
        except (OSError, KeyError, ValueError) as error:
            log.warning("Skipping unreadable checkpoint %s: %s", folder, error)
            problems.append(f"{folder}: {error}")
    warning = untrained_warning(backbone, problems)
    return ActiveMeta(initial_meta_checkpoint(backbone), None, warning)


def untrained_warning(backbone: Backbone, problems: list[str]) -> str:
    consequence = (
        "so the untrained meta-adapters are used and classifiers will be much less accurate."
    )
    if backbone.name != DEFAULT_BACKBONE:
        return (
            f"No meta-trained checkpoint was made for the backbone {backbone.name!r}, "
            f"{consequence} Meta-train one (Tools > Meta-training, or `fewshot metatrain`)."
        )
    found = f" Unreadable: {'; '.join(problems)}." if problems else ""
    return (
        f"The shipped meta-trained checkpoint for {DEFAULT_BACKBONE} is missing or damaged "
        f"(looked in {shipped_meta_root()}), {consequence}{found} Reinstall Fewshot Studio "
        "to restore it."
    )


def default_meta_checkpoint(backbone: Backbone) -> MetaCheckpoint:
    return active_meta_checkpoint(backbone).checkpoint


def find_meta_checkpoint(fingerprint: str, backbone: Backbone) -> MetaCheckpoint:
    """The checkpoint with this fingerprint among the known ones (or the untrained one)."""
    for folder in meta_checkpoint_dirs():
        try:
            if read_checkpoint_summary(folder).get("fingerprint") == fingerprint:
                return load_meta_checkpoint(folder, backbone=backbone)
        except (OSError, ValueError) as error:
            log.warning("Skipping unreadable checkpoint %s: %s", folder, error)
    untrained = initial_meta_checkpoint(backbone)
    if untrained.fingerprint == fingerprint:
        return untrained
    raise FormatError(
        f"No meta-adapter checkpoint with fingerprint {fingerprint} is installed (looked in "
        f"{shipped_meta_root()} and {user_meta_root()}). Copy the checkpoint folder the "
        "classifier was trained with into the second place, or pass it with --meta."
    )
