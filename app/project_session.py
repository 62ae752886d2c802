"""The project's life cycle: new, open, example, save, save as, recent files, and the
recovery copy that autosave keeps so that a crash or a kill loses at most a second or two."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QMenu, QWidget

from app import prompts
from app.app_settings import AppSettings, autosave_path
from app.assets import example_project_path
from app.document import Document
from app.job_runner import JobRunner
from app.message_banner import MessageBanner, MessageKind
from app.worker import Worker

log = logging.getLogger(__name__)
PROJECT_SUFFIX = ".fewshot.json"
# A change is written to the recovery copy this long after it (the first change of a burst
# starts the clock; later ones ride along): a kill loses at most this much work.
AUTOSAVE_DELAY_MS = 1_000
AUTOSAVE_JOB = "autosave"


def write_recovery_copy(text: str) -> Worker:
    """A job that writes the serialised project atomically, off the GUI thread."""

    def job(progress, should_stop) -> None:
        from engine.files import atomic_write_text

        atomic_write_text(autosave_path(), text)

    return Worker(job, name=AUTOSAVE_JOB)


def remove_recovery_copy() -> None:
    """Delete the recovery copy; a disk that refuses is only logged (the worst outcome: the
    copy is offered once more at the next start)."""
    try:
        autosave_path().unlink(missing_ok=True)
    except OSError as error:
        log.warning("Could not remove the recovery copy: %s", error)


class ProjectSession(QObject):
    """Replaces, saves and recovers the window's document; `installed` runs after every
    project replaced the previous one (the window reloads the model it asks for)."""

    def __init__(
        self,
        window: QWidget,
        document: Document,
        settings: AppSettings,
        runner: JobRunner,
        banner: MessageBanner,
        installed: Callable[[], None],
    ):
        super().__init__(window)
        self._window, self._document, self._settings = window, document, settings
        self._runner, self._banner, self._installed = runner, banner, installed
        self._autosave_timer = QTimer(self)
        self._autosave_timer.setSingleShot(True)
        self._autosave_timer.setInterval(AUTOSAVE_DELAY_MS)
        self._autosave_timer.timeout.connect(self.autosave)
        self._autosave_again = False  # a change came while the last copy was being written
        self._autosave_warning = ""  # shown once when the recovery copy cannot be written
        self._closed = False
        document.changed.connect(self._schedule_autosave)
        runner.job_finished.connect(self._job_finished)

    # ---- opening ----------------------------------------------------------------------
    def open_first(self, start_project: Path | None) -> None:
        """At start-up: the project asked for, else unsaved work, else (first run) the example."""
        from engine.project import Project

        if start_project is not None and self.open_project(start_project, ask=False):
            return
        if autosave_path().is_file() and self._offer_restore():
            return
        if self._settings.first_run:
            self._settings.mark_first_run_done()
            if self.open_example():
                return
        self._install(Project(), None)

    def _offer_restore(self) -> bool:
        path = autosave_path()
        restore = prompts.yes_no(
            self._window,
            "Restore unsaved work?",
            "Fewshot Studio did not close properly last time. Restore the examples and classifier "
            "you were working on?",
        )
        if not restore:
            remove_recovery_copy()
            return False
        project = self._read(path, "The unsaved work could not be restored")
        if project is None:
            return False
        source = self._settings.autosave_source
        self._install(project, Path(source) if source else None)
        self._document.mark_modified()  # restored work is not saved anywhere yet
        self._banner.show_message(
            "Your unsaved work was restored. Save it to keep it.", MessageKind.INFO
        )
        return True

    def confirm_discard(self) -> bool:
        """True when it is fine to replace the document (saved, discarded, or unchanged)."""
        if not self._document.is_modified:
            return True
        choice = prompts.unsaved_changes(
            self._window,
            "Unsaved changes",
            f"Save the changes to {self._document.title().rstrip(' *')}?",
        )
        if choice is prompts.UnsavedChoice.SAVE:
            return self.save()
        return choice is prompts.UnsavedChoice.DISCARD

    @Slot()
    def new_project(self) -> None:
        from engine.project import Project

        if self.confirm_discard():
            self._install(Project(), None)

    @Slot()
    def open_project(self, path: Path | None = None, *, ask: bool = True) -> bool:
        if ask and not self.confirm_discard():
            return False
        if not path:
            path = prompts.open_path(
                self._window, "Open project", self._settings.last_folder, prompts.PROJECT_FILTER
            )
            if path is None:
                return False
        project = self._read(path, "Could not open the project")
        if project is None:
            return False
        self._install(project, Path(path))
        self._settings.add_recent(Path(path))
        self._settings.last_folder = str(Path(path).parent)
        return True

    @Slot()
    def open_example(self) -> bool:
        if not self.confirm_discard():
            return False
        project = self._read(example_project_path(), "The example project is damaged")
        if project is None:
            return False
        self._install(project, None)
        self._banner.show_message(
            "This is an example project: three topics with five examples each. Press Train, then "
            "type a sentence under Try it. Replace the examples with your own any time.",
            MessageKind.INFO,
        )
        return True

    def _read(self, path: Path, failure: str):
        """The project at `path`, or None after showing `failure` and the reason."""
        from engine.project import ProjectError, load_project

        try:
            return load_project(path)
        except ProjectError as error:
            self._banner.show_error(f"{failure}: {error}")
            return None

    def _install(self, project, path: Path | None) -> None:
        self._document.load(project, path)
        self._banner.clear()
        self._installed()

    # ---- saving -----------------------------------------------------------------------
    @Slot()
    def save(self) -> bool:
        if self._document.path is None:
            return self.save_as()
        return self._write_project(self._document.path)

    @Slot()
    def save_as(self, path: Path | None = None) -> bool:
        if not path:
            name = self._document.title().rstrip(" *")
            suggested = str(Path(self._settings.last_folder) / f"{name}{PROJECT_SUFFIX}")
            path = prompts.save_path(
                self._window, "Save project", suggested, prompts.PROJECT_FILTER
            )
            if path is None:
                return False
        path = Path(path)
        if not path.name.endswith(PROJECT_SUFFIX):
            path = path.with_name(path.name.removesuffix(".json") + PROJECT_SUFFIX)
        return self._write_project(path)

    def _write_project(self, path: Path) -> bool:
        from engine.files import describe_os_error
        from engine.project import ProjectError, save_project

        try:
            save_project(self._document.to_project(), path)
        except OSError as error:
            self._banner.show_error(f"Could not save the project: {describe_os_error(error, path)}")
            return False
        except ProjectError as error:
            self._banner.show_error(f"Could not save the project to {path}: {error}")
            return False
        self._backup_works()
        self._document.mark_saved(path)
        self._settings.add_recent(path)
        self._settings.last_folder = str(path.parent)
        self._autosave_timer.stop()
        remove_recovery_copy()  # everything is in the saved file now
        self._window.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    # ---- the recovery copy ------------------------------------------------------------
    @Slot()
    def _schedule_autosave(self) -> None:
        if self._document.is_modified and not self._autosave_timer.isActive():
            self._autosave_timer.start()

    @Slot()
    def autosave(self) -> None:
        """Serialise here (the document lives in this thread), write in the background."""
        from engine.project import ProjectError, project_to_json

        if self._closed or not self._document.is_modified or self._document.settings is None:
            return
        if self._runner.is_running(AUTOSAVE_JOB):
            self._autosave_again = True
            return
        try:
            text = project_to_json(self._document.to_project())
        except ProjectError as error:
            log.warning("Autosave skipped: %s", error)
            return
        self._settings.autosave_source = str(self._document.path or "")
        worker = write_recovery_copy(text)
        worker.failed.connect(self._autosave_failed)
        worker.succeeded.connect(self._backup_works)
        self._runner.start(worker)

    @Slot(str)
    def _autosave_failed(self, message: str) -> None:
        """Say it once: autosave retries after every change, and a banner each second would
        bury everything else. A later successful write takes the message back."""
        log.warning("Autosave failed: %s", message)
        if not self._autosave_warning:
            self._autosave_warning = (
                f"Your unsaved work is not being backed up: {message} Save the project "
                "(File > Save) to keep it."
            )
            self._banner.show_message(self._autosave_warning, MessageKind.WARNING)

    @Slot()
    def _backup_works(self) -> None:
        if self._autosave_warning and self._banner.text() == self._autosave_warning:
            self._banner.clear()
        self._autosave_warning = ""

    @Slot(str)
    def _job_finished(self, name: str) -> None:
        if name != AUTOSAVE_JOB:
            return
        if self._autosave_again:
            self._autosave_again = False
            self.autosave()
        elif not self._document.is_modified:  # saved while the copy was being written
            remove_recovery_copy()

    def close(self) -> None:
        """A clean exit (after the runner's threads have stopped): no recovery copy is left."""
        self._closed = True
        self._autosave_timer.stop()
        remove_recovery_copy()

    # ---- recent files -----------------------------------------------------------------
    @Slot()
    def fill_recent_menu(self) -> None:
        menu: QMenu = self.sender()
        menu.clear()
        recent = self._settings.recent_files
        if not recent:
            menu.addAction("(no recent projects)").setEnabled(False)
        for number, path in enumerate(recent, start=1):
            action = menu.addAction(f"&{number} {Path(path).name}")
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, p=path: self._open_recent(p))

    def _open_recent(self, path: str) -> None:
        if not Path(path).is_file():
            self._settings.remove_recent(path)
            self._banner.show_error(
                f"{path} no longer exists; it was removed from the recent list."
            )
            return
        self.open_project(Path(path))
