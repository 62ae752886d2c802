"""Per-user settings (device, recent projects, window layout) in an ini file in the data dir."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import platformdirs
from PySide6.QtCore import QByteArray, QSettings

MAX_RECENT = 8


def data_dir() -> Path:
    """engine.locations.user_data_dir(), without importing the engine (and torch) at start-up.

    Same rule: FEWSHOT_DATA_DIR if set, else the platformdirs per-user data dir; a test
    checks the two agree.
    """
    override = os.environ.get("FEWSHOT_DATA_DIR")
    path = (
        Path(override)
        if override
        else platformdirs.user_data_path("FewshotStudio", appauthor=False)
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


def autosave_path() -> Path:
    return data_dir() / "autosave.fewshot.json"


@dataclass
class MetaTrainChoices:
    """What the meta-training dialog was last set to: a long run is often started again."""

    tasks: list[str] = field(default_factory=list)
    unlabeled: str = ""
    steps: int = 500
    device: str = ""  # "": the first device offered
    lam: float = 0.5
    name: str = "my-meta-adapters"
    extra: str = ""


class AppSettings:
    """Typed access to QSettings in `<data dir>/settings.ini` (one file, readable, portable)."""

    def __init__(self, path: Path | None = None):
        self.path = path or data_dir() / "settings.ini"
        self._settings = QSettings(str(self.path), QSettings.Format.IniFormat)

    @property
    def device(self) -> str:
        return str(self._settings.value("engine/device", "auto"))

    @device.setter
    def device(self, value: str) -> None:
        self._settings.setValue("engine/device", value)

    @property
    def recent_files(self) -> list[str]:
        value = self._settings.value("projects/recent", [])
        return [value] if isinstance(value, str) else [str(v) for v in value or []]

    def add_recent(self, path: Path) -> None:
        path_text = str(Path(path).resolve())
        recent = [path_text] + [p for p in self.recent_files if p != path_text]
        self._settings.setValue("projects/recent", recent[:MAX_RECENT])

    def remove_recent(self, path: str) -> None:
        self._settings.setValue("projects/recent", [p for p in self.recent_files if p != path])

    @property
    def autosave_source(self) -> str:
        """The project file the autosave belongs to ("" for an unsaved project)."""
        return str(self._settings.value("projects/autosave_source", ""))

    @autosave_source.setter
    def autosave_source(self, value: str) -> None:
        self._settings.setValue("projects/autosave_source", value)

    @property
    def first_run(self) -> bool:
        return str(self._settings.value("app/first_run_done", "false")) != "true"

    def mark_first_run_done(self) -> None:
        self._settings.setValue("app/first_run_done", "true")

    @property
    def last_folder(self) -> str:
        return str(self._settings.value("app/last_folder", str(Path.home())))

    @last_folder.setter
    def last_folder(self, value: str) -> None:
        self._settings.setValue("app/last_folder", value)

    @property
    def metatrain_choices(self) -> MetaTrainChoices:
        """The last choices; the defaults where none were saved or the file was mangled."""
        default = MetaTrainChoices()

        def read(name: str):
            return self._settings.value(f"metatrain/{name}", getattr(default, name))

        tasks = read("tasks")  # an ini file gives one item back as a string, none as None
        try:
            return MetaTrainChoices(
                tasks=[tasks] if isinstance(tasks, str) else [str(t) for t in tasks or []],
                unlabeled=str(read("unlabeled")),
                steps=int(read("steps")),
                device=str(read("device")),
                lam=float(read("lam")),
                name=str(read("name")),
                extra=str(read("extra")),
            )
        except (TypeError, ValueError):
            return default

    @metatrain_choices.setter
    def metatrain_choices(self, choices: MetaTrainChoices) -> None:
        for name, value in asdict(choices).items():
            self._settings.setValue(f"metatrain/{name}", value)

    def window_state(self) -> tuple[QByteArray | None, QByteArray | None]:
        return self._settings.value("window/geometry"), self._settings.value("window/state")

    def save_window_state(self, geometry: QByteArray, state: QByteArray) -> None:
        self._settings.setValue("window/geometry", geometry)
        self._settings.setValue("window/state", state)

    def sync(self) -> None:
        self._settings.sync()
