"""Files shipped in the `resources` package: the app icon and the first-run example project."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from PySide6.QtGui import QIcon


def resource_path(*parts: str) -> Path:
    # One part at a time: in a frozen bundle `files()` is a MultiplexedPath, whose joinpath
    # takes a single name (and whose str() is not a path) on Python 3.11.
    path = resources.files("resources")
    for part in parts:
        path = path / part
    return Path(str(path))


def app_icon() -> QIcon:
    return QIcon(str(resource_path("icons", "fewshot-studio.svg")))


def example_project_path() -> Path:
    return resource_path("examples", "three-topics.fewshot.json")
