"""Files shipped in the `resources` package: the app icon and the first-run example project."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from PySide6.QtGui import QIcon


def resource_path(*parts: str) -> Path:
    return Path(str(resources.files("resources").joinpath(*parts)))


def app_icon() -> QIcon:
    return QIcon(str(resource_path("icons", "fewshot-studio.svg")))


def example_project_path() -> Path:
    return resource_path("examples", "three-topics.fewshot.json")
