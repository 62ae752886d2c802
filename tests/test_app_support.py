"""Fixtures shared by the tests/test_app_*.py files (imported by name; no tests here).

The app runs for real: offscreen Qt, the embedded backbone loaded once per session, the
engine's own training. Only the modal prompts (file pickers, yes/no boxes) are replaced,
because a modal dialog would block an offscreen run.
"""

from __future__ import annotations

import gc

import pytest
from conftest import TOPICS

from app import prompts
from app.app_settings import AppSettings, autosave_path

TRAINING_TIMEOUT_MS = 180_000  # generous: the CI machine is shared with other work


@pytest.fixture(scope="session")
def loaded_model(backbone):
    from app.jobs import LoadedModel
    from engine.locations import active_meta_checkpoint

    active = active_meta_checkpoint(backbone)
    return LoadedModel(backbone, active.checkpoint, active.folder, active.warning)


@pytest.fixture
def answers(monkeypatch):
    """What the user would answer to each modal prompt; tests change entries as needed."""
    replies = {
        "open_path": None,
        "save_path": None,
        "folder_path": None,
        "text": None,
        "choice": None,
        "yes_no": False,
        "unsaved_changes": prompts.UnsavedChoice.DISCARD,
    }
    asked = []
    for name in replies:

        def reply(*args, _name=name, **kwargs):
            asked.append(_name)
            return replies[_name]

        monkeypatch.setattr(prompts, name, reply)
    replies["asked"] = asked
    return replies


def topic_project(per_class: int = 8, max_length: int = 32):
    from engine.project import Example, Project, ProjectSettings

    return Project(
        classes=list(TOPICS),
        examples=[
            Example(text, label) for label, texts in TOPICS.items() for text in texts[:per_class]
        ],
        settings=ProjectSettings(max_length=max_length),
    )


@pytest.fixture
def one_torch_thread():
    """One intra-op thread while an app test runs: the app's worker threads and the shared CI
    machine's other jobs make two spinning OpenMP threads several times slower (measured:
    a 15-example fit took 0.9 s with one thread and 3-7 s with two on the loaded machine)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def window(qtbot, loaded_model, tmp_path, answers, one_torch_thread):
    """The main window with the session's backbone, an empty project, short texts (fast)."""
    from app.main_window import MainWindow
    from engine.project import Project, ProjectSettings

    autosave_path().unlink(missing_ok=True)
    settings = AppSettings(tmp_path / "settings.ini")
    settings.mark_first_run_done()
    settings.last_folder = str(tmp_path)
    main_window = MainWindow(settings)
    qtbot.addWidget(main_window)
    main_window.show()
    main_window.start(model=loaded_model)
    main_window.document.load(Project(settings=ProjectSettings(max_length=32)), None)
    yield main_window
    main_window._closing = True  # no "save changes?" on the way out
    main_window.close()
    gc.collect()  # here, in the GUI thread: the window's cycles must not die in a worker thread
    gc.enable()  # the window turned automatic collection off (see app/garbage.py)


def train_and_wait(qtbot, window) -> None:
    window.train_panel.train()
    qtbot.waitUntil(lambda: not window.train_panel.is_busy, timeout=TRAINING_TIMEOUT_MS)
