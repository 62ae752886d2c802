"""The Studio's document: examples, classes, settings and the latest classifier in one JSON file.

A project file (`*.fewshot.json`, UTF-8, written atomically) looks like this:

    {
      "format": "fewshot-studio-project",
      "format_version": 1,
      "classes": ["cooking", "finance", "sports"],      # the order the user sees
      "examples": [{"text": "Whisk the eggs", "label": "cooking"}, ...],  # label "" = none yet
      "settings": {"backbone": "all-MiniLM-L6-v2", "meta_checkpoint": null, "max_length": 128},
      "classifier": null | {"file": "<base64>", "sha256": "<hex>",
                            "trained_on": {"examples": [[text, label], ...], "classes": [...],
                                           "settings": {...}}},
      "quality": null | {QualityReport fields},
      "pool": ["an unlabeled text", ...],               # texts to label (optional)
      "saved": "2025-01-01T12:00:00+00:00"
    }

The classifier is the exact bytes of the classifier (.safetensors) file, base64-encoded: the
project stays one file a user can move or mail, and "Save classifier" writes the same bytes.
Its sha256 catches a project damaged in transit. `trained_on` records what it was trained
with, so every screen can say whether it matches the examples (engine.training_state).
The device is not stored: it belongs to the machine, not to the project.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from engine.backbone import DEFAULT_BACKBONE
from engine.classifier import DEFAULT_MAX_LENGTH
from engine.evaluation import QualityReport
from engine.files import atomic_write_text
from engine.training_state import TrainedOn

if TYPE_CHECKING:
    import pandas as pd

PROJECT_FORMAT = "fewshot-studio-project"
PROJECT_VERSION = 1
PROJECT_SUFFIX = ".fewshot.json"


class ProjectError(ValueError):
    """A project file cannot be read, or its content is inconsistent."""


@dataclass
class Example:
    text: str
    label: str = ""  # "" while the user has not chosen a class


@dataclass
class ProjectSettings:
    backbone: str = DEFAULT_BACKBONE  # embedded default or a local model folder
    meta_checkpoint: str | None = None  # checkpoint folder; None = the default for the backbone
    max_length: int = DEFAULT_MAX_LENGTH  # tokens per text


@dataclass
class Project:
    classes: list[str] = field(default_factory=list)
    examples: list[Example] = field(default_factory=list)
    settings: ProjectSettings = field(default_factory=ProjectSettings)
    classifier_file: bytes | None = None  # the classifier (.safetensors) file's bytes
    quality: QualityReport | None = None  # the estimate made when that classifier was trained
    trained_on: TrainedOn | None = None  # what that classifier saw; None in older projects
    pool: list[str] = field(default_factory=list)  # unlabeled texts waiting to be labeled

    def counts(self) -> dict[str, int]:
        """Examples per class (non-empty texts only), every class listed."""
        counts = dict.fromkeys(self.classes, 0)
        for example in self.examples:
            if example.label in counts and example.text.strip():
                counts[example.label] += 1
        return counts


def parse_pasted_examples(text: str, default_label: str = "") -> list[Example]:
    """Clipboard text -> examples, one per non-blank line.

    A line `text<TAB>label` (as copied from a spreadsheet) gives its own label; the last tab
    separates, so a text may itself hold tabs. A plain line gets `default_label`. A first line
    that is a copied header (`text<TAB>label`, any case) is skipped.
    """
    examples = []
    for number, line in enumerate(text.splitlines()):
        if not line.strip():
            continue
        body, tab, label = line.rpartition("\t")
        if not tab:
            body, label = line, ""
        if (
            number == 0
            and tab
            and (body.strip().lower(), label.strip().lower()) == ("text", "label")
        ):
            continue
        examples.append(Example(body.strip(), label.strip() or default_label))
    return examples


def examples_from_table(
    frame: pd.DataFrame,
    text_column: str,
    label_column: str | None = None,
    default_label: str = "",
) -> list[Example]:
    """Rows of a table (strings, as `engine.tables.read_table` gives) -> examples, in order.

    Texts and labels are stripped; rows with an empty text are skipped. The label comes from
    `label_column`; where that cell is empty, or without a label column, it is `default_label`.
    """
    labels = frame[label_column] if label_column else [""] * len(frame)
    return [
        Example(str(text).strip(), str(label).strip() or default_label)
        for text, label in zip(frame[text_column], labels, strict=True)
        if str(text).strip()
    ]


def project_to_json(project: Project) -> str:
    check_project(project)
    classifier = None
    if project.classifier_file is not None:
        classifier = {
            "file": base64.b64encode(project.classifier_file).decode("ascii"),
            "sha256": hashlib.sha256(project.classifier_file).hexdigest(),
        }
        if project.trained_on is not None:
            classifier["trained_on"] = project.trained_on.to_dict()
    document = {
        "format": PROJECT_FORMAT,
        "format_version": PROJECT_VERSION,
        "classes": list(project.classes),
        "examples": [{"text": e.text, "label": e.label} for e in project.examples],
        "settings": {
            "backbone": project.settings.backbone,
            "meta_checkpoint": project.settings.meta_checkpoint,
            "max_length": project.settings.max_length,
        },
        "classifier": classifier,
        "quality": project.quality.to_dict() if project.quality else None,
        "pool": list(project.pool),
        "saved": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    return json.dumps(document, indent=1, ensure_ascii=False)


def save_project(project: Project, path: str | Path) -> Path:
    """Write the project atomically: a crash mid-save leaves the previous file whole."""
    path = Path(path)
    atomic_write_text(path, project_to_json(project))
    return path


def load_project(path: str | Path) -> Project:
    path = Path(path)
    if not path.is_file():
        raise ProjectError(f"No project file at `{path}`.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ProjectError(
            f"`{path.name}` is not a Fewshot Studio project: it is not UTF-8 text."
        ) from error
    return project_from_json(text, source=path.name)


def project_from_json(text: str, *, source: str = "the project") -> Project:
    """Parse and validate; every message names the file and what is wrong with it."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ProjectError(
            f"`{source}` is not a Fewshot Studio project: it is not valid JSON "
            f"(line {error.lineno}, column {error.colno}). Was it damaged or cut short?"
        ) from error
    if not isinstance(document, dict) or document.get("format") != PROJECT_FORMAT:
        raise ProjectError(
            f"`{source}` is JSON but not a Fewshot Studio project (no "
            f'"format": "{PROJECT_FORMAT}" entry).'
        )
    version = document.get("format_version")
    if not isinstance(version, int) or version > PROJECT_VERSION:
        raise ProjectError(
            f"`{source}` uses project format version {version!r}; this program reads up to "
            f"{PROJECT_VERSION}: update Fewshot Studio to open it."
        )
    try:
        project = Project(
            classes=[_string(c, "class name") for c in _list(document, "classes")],
            examples=[_example(e) for e in _list(document, "examples")],
            settings=_settings(document.get("settings") or {}),
            classifier_file=_classifier(document.get("classifier"), source),
            quality=_quality(document.get("quality")),
            trained_on=_trained_on(document.get("classifier")),
            pool=[_string(text, "pool text") for text in _list(document, "pool")],
        )
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, ProjectError):
            raise ProjectError(f"`{source}`: {error}") from error
        raise ProjectError(f"`{source}` has a malformed entry ({error!r}).") from error
    try:
        check_project(project)
    except ProjectError as error:
        raise ProjectError(f"`{source}`: {error}") from error
    return project


def check_project(project: Project) -> None:
    """Raise ProjectError if the classes and labels do not agree."""
    seen: set[str] = set()
    for name in project.classes:
        if not name.strip():
            raise ProjectError("a class has an empty name.")
        if name in seen:
            raise ProjectError(f"the class {name!r} is listed twice.")
        seen.add(name)
    for number, example in enumerate(project.examples, start=1):
        if example.label and example.label not in seen:
            raise ProjectError(
                f"example {number} has the label {example.label!r}, which is not in the class "
                f"list {project.classes}."
            )
    if project.settings.max_length < 8:
        raise ProjectError(
            f"`max_length` must be at least 8 tokens, got {project.settings.max_length}."
        )


def _list(document: dict, key: str) -> list:
    value = document.get(key, [])
    if not isinstance(value, list):
        raise ProjectError(f'"{key}" must be a list, got {type(value).__name__}.')
    return value


def _string(value, what: str) -> str:
    if not isinstance(value, str):
        raise ProjectError(f"a {what} must be text, got {value!r}.")
    return value


def _example(entry) -> Example:
    if not isinstance(entry, dict) or "text" not in entry:
        raise ProjectError(f'every example needs a "text", got {entry!r:.80}.')
    return Example(_string(entry["text"], "text"), _string(entry.get("label") or "", "label"))


def _settings(entry) -> ProjectSettings:
    if not isinstance(entry, dict):
        raise ProjectError(f'"settings" must be an object, got {type(entry).__name__}.')
    defaults = ProjectSettings()
    meta = entry.get("meta_checkpoint")
    return ProjectSettings(
        backbone=_string(entry.get("backbone", defaults.backbone), "backbone"),
        meta_checkpoint=None if meta is None else _string(meta, "meta checkpoint"),
        max_length=int(entry.get("max_length", defaults.max_length)),
    )


def _quality(entry) -> QualityReport | None:
    return QualityReport.from_dict(entry) if entry else None


def _trained_on(entry) -> TrainedOn | None:
    if not isinstance(entry, dict) or entry.get("trained_on") is None:
        return None
    if not isinstance(entry["trained_on"], dict):
        raise ProjectError('"classifier.trained_on" must be an object.')
    return TrainedOn.from_dict(entry["trained_on"])


def _classifier(entry, source: str) -> bytes | None:
    if entry is None:
        return None
    try:
        data = base64.b64decode(entry["file"], validate=True)
    except (binascii.Error, KeyError, TypeError) as error:
        raise ProjectError("its classifier is not valid base64: retrain to replace it.") from error
    if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
        raise ProjectError("its classifier was damaged (checksum mismatch): retrain to replace it.")
    return data
