"""The main window: classes, examples, Train, Try it, and the menus that reach everything else."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QSplitter,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from app import jobs, prompts
from app.app_settings import AppSettings, autosave_path
from app.assets import app_icon, example_project_path
from app.classes_panel import ClassesPanel
from app.document import Document
from app.examples_panel import ExamplesPanel
from app.garbage import collect_in_gui_thread
from app.job_runner import JobRunner
from app.message_banner import MessageBanner, MessageKind
from app.model_host import ModelHost
from app.train_panel import TrainPanel
from app.try_panel import TryPanel
from app.worker import Worker

if TYPE_CHECKING:
    from app.about_dialog import AboutDialog
    from app.batch_dialog import BatchDialog
    from app.export_dialog import ExportDialog
    from app.import_dialog import ImportDialog
    from app.metatrain_dialog import MetaTrainDialog
    from app.settings_dialog import SettingsDialog
    from engine.project import Project

log = logging.getLogger(__name__)
AUTOSAVE_INTERVAL_MS = 30_000
PROJECT_SUFFIX = ".fewshot.json"
TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx")  # engine.tables.TABLE_SUFFIXES, without torch
LOAD_CLASSIFIER_JOB = "load classifier"
META_TIP = "The meta-adapter checkpoint that makes few-shot training work"


class MainWindow(QMainWindow):
    """Owns the document, the model host and the job runner; panels and dialogs share them.

    Start-up order: the window shows with the engine not yet imported; start() imports it in
    the background, then opens the first project, then loads the backbone in the background.
    """

    def __init__(self, settings: AppSettings | None = None):
        super().__init__()
        self.settings = settings or AppSettings()
        self.runner = JobRunner(self)
        self._garbage_timer = collect_in_gui_thread(self)  # never in a worker thread
        self.document = Document(self)
        self.host = ModelHost(self.runner, self)
        self.banner = MessageBanner()
        self.import_dialog: ImportDialog | None = None
        self.export_dialog: ExportDialog | None = None
        self.batch_dialog: BatchDialog | None = None
        self.metatrain_dialog: MetaTrainDialog | None = None
        self.settings_dialog: SettingsDialog | None = None
        self.about_dialog: AboutDialog | None = None
        self._start_project: Path | None = None
        self._model_request: tuple[str, str, str | None] | None = None
        self._closing = False

        self.setWindowIcon(app_icon())
        self.resize(1280, 800)
        self.setAcceptDrops(True)
        self._create_actions()
        self._create_menus()
        self._create_central()
        self._create_status_bar()
        self._connect()
        self._set_engine_ready(False)
        geometry, state = self.settings.window_state()
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)
        self._autosave_timer = QTimer(self)
        self._autosave_timer.setInterval(AUTOSAVE_INTERVAL_MS)
        self._autosave_timer.timeout.connect(self.autosave)
        self._update_title()

    # ---- construction -----------------------------------------------------------------
    def _action(self, text: str, slot, shortcut=None, tip: str = "", icon=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcuts(shortcut if isinstance(shortcut, list) else [shortcut])
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            tip = f"{tip or text.rstrip('…')} ({keys})"
        action.setToolTip(tip or text.rstrip("…"))
        action.setStatusTip(tip or text.rstrip("…"))
        if icon is not None:
            action.setIcon(self.style().standardIcon(icon))
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work wherever the focus is in this window
        return action

    def _create_actions(self) -> None:
        Key, Pixmap = QKeySequence.StandardKey, QStyle.StandardPixmap
        self.new_action = self._action(
            "&New project", self.new_project, Key.New, icon=Pixmap.SP_FileIcon
        )
        self.open_action = self._action(
            "&Open project…", self.open_project, Key.Open, icon=Pixmap.SP_DialogOpenButton
        )
        self.save_action = self._action(
            "&Save project", self.save, Key.Save, icon=Pixmap.SP_DialogSaveButton
        )
        self.save_as_action = self._action("Save project &as…", self.save_as, Key.SaveAs)
        self.example_action = self._action("Open the &example project", self.open_example)
        self.quit_action = self._action("&Quit", self.close, Key.Quit)
        self.undo_action = self.document.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcuts(QKeySequence.StandardKey.Undo)
        self.undo_action.setIcon(self.style().standardIcon(Pixmap.SP_ArrowBack))
        self.redo_action = self.document.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.redo_action.setIcon(self.style().standardIcon(Pixmap.SP_ArrowForward))
        for action in (self.undo_action, self.redo_action):
            self.addAction(action)
        self.paste_action = self._action(
            "&Paste examples",
            self.paste,
            Key.Paste,
            "Paste lines: text<Tab>class, or plain lines for the selected class",
        )
        self.import_action = self._action(
            "&Import examples…",
            self.import_file,
            QKeySequence("Ctrl+I"),
            "Import a CSV, TSV or Excel file",
        )
        self.add_row_action = self._action(
            "Add &example",
            self.add_example,
            QKeySequence("Ctrl+Shift+Return"),
            "Add an empty example to type in",
        )
        self.delete_action = self._action(
            "&Delete",
            self.delete_selection,
            QKeySequence.StandardKey.Delete,
            "Delete the selected examples (or classes)",
        )
        self.add_class_action = self._action(
            "Add &class…", self._add_class, QKeySequence("Ctrl+Shift+N")
        )
        self.train_action = self._action(
            "&Train",
            self._train,
            [QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")],
            "Teach the classifier from your examples",
        )
        self.cancel_action = self._action(
            "&Cancel training", self._cancel_training, QKeySequence("Esc")
        )
        self.try_action = self._action(
            "T&ry it", self._focus_try, QKeySequence("Ctrl+L"), "Type a text to classify"
        )
        self.save_classifier_action = self._action(
            "&Save classifier file…", self.save_classifier, QKeySequence("Ctrl+E")
        )
        self.export_action = self._action(
            "Export to &ONNX…",
            self.show_export,
            QKeySequence("Ctrl+Shift+E"),
            "Export for fast inference without PyTorch",
        )
        self.batch_action = self._action(
            "Classify a &file…",
            self.show_batch,
            QKeySequence("Ctrl+B"),
            "Classify every row of a CSV, TSV or Excel file",
        )
        self.metatrain_action = self._action(
            "&Meta-train a checkpoint…",
            self.show_metatrain,
            QKeySequence("Ctrl+M"),
            "Train meta-adapters on your own task folders",
        )
        self.settings_action = self._action(
            "&Settings…",
            self.show_settings,
            QKeySequence("Ctrl+,"),
            "Device, backbone and meta-adapter checkpoint",
        )
        self.shortcuts_action = self._action(
            "&Keyboard shortcuts", self.show_shortcuts, Key.HelpContents
        )
        self.about_action = self._action(
            "&About Fewshot Studio", self.show_about, tip="Versions, device, backbone, checkpoint"
        )

    def _create_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        for action in (self.new_action, self.open_action):
            file_menu.addAction(action)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addAction(self.example_action)
        file_menu.addSeparator()
        for action in (self.save_action, self.save_as_action):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = bar.addMenu("&Edit")
        for action in (
            self.undo_action,
            self.redo_action,
            None,
            self.paste_action,
            self.import_action,
            self.add_row_action,
            self.delete_action,
            None,
            self.add_class_action,
        ):
            edit_menu.addSeparator() if action is None else edit_menu.addAction(action)
        classifier_menu = bar.addMenu("&Classifier")
        for action in (
            self.train_action,
            self.cancel_action,
            self.try_action,
            None,
            self.save_classifier_action,
            self.export_action,
            self.batch_action,
        ):
            classifier_menu.addSeparator() if action is None else classifier_menu.addAction(action)
        tools_menu = bar.addMenu("&Tools")
        tools_menu.addAction(self.metatrain_action)
        tools_menu.addAction(self.settings_action)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.shortcuts_action)
        help_menu.addAction(self.example_action)
        help_menu.addAction(self.about_action)

    def _create_central(self) -> None:
        self.classes_panel = ClassesPanel(self.document, self.banner)
        self.examples_panel = ExamplesPanel(
            self.document,
            [self.paste_action, self.import_action, self.add_row_action, self.delete_action],
        )
        self.train_panel = TrainPanel(self.document, self.host, self.runner, self.banner)
        self.try_panel = TryPanel(self.host, self.runner)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.train_panel)
        right.addWidget(self.try_panel)
        right.setSizes([430, 300])
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.classes_panel)
        self.splitter.addWidget(self.examples_panel)
        self.splitter.addWidget(right)
        self.splitter.setSizes([250, 640, 390])
        self.splitter.setChildrenCollapsible(False)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(10, 8, 10, 6)
        layout.addWidget(self.banner)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

    def _create_status_bar(self) -> None:
        self.status_loading = QLabel()
        self.status_device = QLabel()
        self.status_backbone = QLabel()
        self.status_meta = QLabel()
        for label, tip in (
            (self.status_device, "Where the model runs (change in Settings)"),
            (self.status_backbone, "The language model the classifier builds on"),
            (self.status_meta, META_TIP),
        ):
            label.setToolTip(tip)
            label.setAccessibleName(tip)
        self.statusBar().addWidget(self.status_loading, 1)
        for label in (self.status_device, self.status_backbone, self.status_meta):
            self.statusBar().addPermanentWidget(label)
        self._update_status()

    def _connect(self) -> None:
        self.document.changed.connect(self._update_title)
        self.document.changed.connect(self._start_autosave_timer)
        self.document.loaded.connect(self._load_project_classifier)
        self.document.classifier_changed.connect(self._update_actions)
        self.host.engine_ready.connect(self._engine_imported)
        self.host.loading.connect(self._loading)
        self.host.model_ready.connect(self._model_ready)
        self.host.model_failed.connect(self._model_failed)
        self.host.classifier_changed.connect(self._update_actions)
        self.train_panel.busy_changed.connect(self._update_actions)

    # ---- start-up ---------------------------------------------------------------------
    def start(
        self, project_path: Path | None = None, model: jobs.LoadedModel | None = None
    ) -> None:
        """Call after show(): import the engine and load the model in the background.

        `model` installs an already loaded backbone and checkpoint instead (tests, benchmarks).
        """
        self._start_project = project_path
        if model is not None:
            # As if loaded for the default settings: a project asking for others reloads.
            self._model_request = (model.backbone.name, self.settings.device, None)
            self.host.use(model)
            self._engine_imported()
        else:
            self.host.import_engine()

    @Slot()
    def _engine_imported(self) -> None:
        self._set_engine_ready(True)
        self._open_first_project()
        self._ensure_model()

    def _open_first_project(self) -> None:
        from engine.project import Project

        if self._start_project is not None and self.open_project(self._start_project, ask=False):
            return
        if autosave_path().is_file() and self._offer_restore():
            return
        if self.settings.first_run:
            self.settings.mark_first_run_done()
            if self.open_example():
                return
        self.document.load(Project(), None)

    def _offer_restore(self) -> bool:
        from engine.project import ProjectError, load_project

        path = autosave_path()
        restore = prompts.yes_no(
            self,
            "Restore unsaved work?",
            "Fewshot Studio did not close properly last time. Restore the examples and classifier "
            "you were working on?",
        )
        if not restore:
            path.unlink(missing_ok=True)
            return False
        try:
            project = load_project(path)
        except ProjectError as error:
            self.banner.show_error(f"The unsaved work could not be restored: {error}")
            return False
        source = self.settings.autosave_source
        self.document.load(project, Path(source) if source else None)
        self.document.mark_modified()  # restored work is not saved anywhere yet
        self.banner.show_message(
            "Your unsaved work was restored. Save it to keep it.", MessageKind.INFO
        )
        return True

    def _ensure_model(self) -> None:
        """(Re)load the backbone and checkpoint when the project asks for other ones."""
        settings = self.document.settings
        if settings is None:
            return
        request = (settings.backbone, self.settings.device, settings.meta_checkpoint)
        if request != self._model_request:
            self._model_request = request
            self.host.load(*request)

    @Slot(str)
    def _loading(self, text: str) -> None:
        self.status_loading.setText(text)

    @Slot()
    def _model_ready(self) -> None:
        self.status_loading.setText("Ready")
        self._update_status()
        self._update_actions()
        if self.host.model.warning:
            self.banner.show_message(self.host.model.warning, MessageKind.WARNING)
        if self.host.classifier is None:
            self._load_project_classifier()

    @Slot(str)
    def _model_failed(self, message: str) -> None:
        self.status_loading.setText("The model could not be loaded")
        self.banner.show_error(f"The language model could not be loaded: {message} Check Settings.")
        self._update_status()

    def _set_engine_ready(self, ready: bool) -> None:
        self.centralWidget().setEnabled(ready)
        for action in self.actions():
            if action not in (self.quit_action, self.shortcuts_action, self.about_action):
                action.setEnabled(ready)
        if ready:
            self._update_actions()

    @Slot()
    def _load_project_classifier(self) -> None:
        """Turn the project's classifier bytes into a live classifier once the model is ready."""
        self.host.set_classifier(None)
        file_bytes = self.document.classifier_file
        if (
            file_bytes is None
            or not self.host.is_ready
            or self.runner.is_running(LOAD_CLASSIFIER_JOB)
        ):
            return
        worker = Worker(jobs.load_classifier(file_bytes, self.host.model), name=LOAD_CLASSIFIER_JOB)
        worker.succeeded.connect(self._classifier_loaded)
        worker.failed.connect(self._classifier_load_failed)
        self.runner.start(worker)

    @Slot(object)
    def _classifier_loaded(self, classifier) -> None:
        self.host.set_classifier(classifier)

    @Slot(str)
    def _classifier_load_failed(self, message: str) -> None:
        self.banner.show_message(
            f"The project's classifier cannot be used with the current settings: {message} "
            "Press Train to make a new one.",
            MessageKind.WARNING,
        )

    # ---- projects ---------------------------------------------------------------------
    def _confirm_discard(self) -> bool:
        """True when it is fine to replace the document (saved, discarded, or unchanged)."""
        if not self.document.is_modified:
            return True
        choice = prompts.unsaved_changes(
            self, "Unsaved changes", f"Save the changes to {self.document.title().rstrip(' *')}?"
        )
        if choice is prompts.UnsavedChoice.SAVE:
            return self.save()
        return choice is prompts.UnsavedChoice.DISCARD

    @Slot()
    def new_project(self) -> None:
        from engine.project import Project

        if self._confirm_discard():
            self.document.load(Project(), None)
            self._ensure_model()

    @Slot()
    def open_project(self, path: Path | None = None, *, ask: bool = True) -> bool:
        from engine.project import ProjectError, load_project

        if ask and not self._confirm_discard():
            return False
        if not path:
            path = prompts.open_path(
                self, "Open project", self.settings.last_folder, prompts.PROJECT_FILTER
            )
            if path is None:
                return False
        try:
            project = load_project(path)
        except ProjectError as error:
            self.banner.show_error(f"Could not open the project: {error}")
            return False
        self._install_project(project, Path(path))
        self.settings.add_recent(Path(path))
        self.settings.last_folder = str(Path(path).parent)
        return True

    @Slot()
    def open_example(self) -> bool:
        from engine.project import ProjectError, load_project

        if not self._confirm_discard():
            return False
        try:
            project = load_project(example_project_path())
        except ProjectError as error:
            self.banner.show_error(f"The example project is damaged: {error}")
            return False
        self._install_project(project, None)
        self.banner.show_message(
            "This is an example project: three topics with five examples each. Press Train, then "
            "type a sentence under Try it. Replace the examples with your own any time.",
            MessageKind.INFO,
        )
        return True

    def _install_project(self, project: Project, path: Path | None) -> None:
        self.document.load(project, path)
        self.banner.clear()
        self._ensure_model()

    @Slot()
    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as()
        return self._write_project(self.document.path)

    @Slot()
    def save_as(self, path: Path | None = None) -> bool:
        if not path:
            suggested = str(
                Path(self.settings.last_folder)
                / f"{self.document.title().rstrip(' *')}{PROJECT_SUFFIX}"
            )
            path = prompts.save_path(self, "Save project", suggested, prompts.PROJECT_FILTER)
            if path is None:
                return False
        path = Path(path)
        if not path.name.endswith(PROJECT_SUFFIX):
            path = path.with_name(path.name.removesuffix(".json") + PROJECT_SUFFIX)
        return self._write_project(path)

    def _write_project(self, path: Path) -> bool:
        from engine.project import ProjectError, save_project

        try:
            save_project(self.document.to_project(), path)
        except (OSError, ProjectError) as error:
            self.banner.show_error(f"Could not save the project to {path}: {error}")
            return False
        self.document.mark_saved(path)
        self.settings.add_recent(path)
        self.settings.last_folder = str(path.parent)
        autosave_path().unlink(missing_ok=True)  # everything is in the saved file now
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    @Slot()
    def autosave(self) -> None:
        """Write the unsaved document to the data dir; a clean exit deletes it again."""
        from engine.project import ProjectError, save_project

        if not self.document.is_modified or self.document.settings is None:
            return
        try:
            save_project(self.document.to_project(), autosave_path())
            self.settings.autosave_source = str(self.document.path or "")
        except (OSError, ProjectError) as error:
            log.warning("Autosave failed: %s", error)

    @Slot()
    def _start_autosave_timer(self) -> None:
        if self.document.is_modified and not self._autosave_timer.isActive():
            self._autosave_timer.start()

    @Slot()
    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent_files
        if not recent:
            self.recent_menu.addAction("(no recent projects)").setEnabled(False)
        for number, path in enumerate(recent, start=1):
            action = self.recent_menu.addAction(f"&{number} {Path(path).name}")
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, p=path: self._open_recent(p))

    def _open_recent(self, path: str) -> None:
        if not Path(path).is_file():
            self.settings.remove_recent(path)
            self.banner.show_error(f"{path} no longer exists; it was removed from the recent list.")
            return
        self.open_project(Path(path))

    # ---- editing ----------------------------------------------------------------------
    @Slot()
    def paste(self) -> None:
        self.paste_text(QGuiApplication.clipboard().text())

    def paste_text(self, text: str) -> int:
        if not text.strip():
            self.banner.show_error(
                "The clipboard holds no text. Copy lines of text (or text and class columns from a "
                "spreadsheet) first."
            )
            return 0
        first = self.document.examples.rowCount()
        count, new_classes = self.document.paste(text, self.classes_panel.current_class())
        self.examples_panel.select_rows(first, count)
        unlabeled = sum(not e.label for e in self.document.examples.examples()[first:])
        message = f"Pasted {count} example(s)."
        if new_classes:
            message += f" New classes: {', '.join(new_classes)}."
        if unlabeled:
            message += (
                f" {unlabeled} {'has' if unlabeled == 1 else 'have'} no class yet: choose one in "
                "the Class column, or select a "
                "class on the left before pasting."
            )
        self.banner.show_message(message, MessageKind.WARNING if unlabeled else MessageKind.SUCCESS)
        return count

    @Slot()
    def import_file(self, path: Path | None = None) -> None:
        """Read a table and open the column picker (non-modal; it imports when accepted)."""
        from app.import_dialog import ImportDialog
        from engine.tables import TableError, read_table

        if not path:
            path = prompts.open_path(
                self, "Import examples", self.settings.last_folder, prompts.TABLE_FILTER
            )
            if path is None:
                return
        path = Path(path)
        try:
            frame = read_table(path)
        except TableError as error:
            self.banner.show_error(f"Could not import: {error}")
            return
        if frame.empty or not len(frame.columns):
            self.banner.show_error(
                f"Could not import: `{path.name}` has a header row but no rows of data."
            )
            return
        self.settings.last_folder = str(path.parent)
        self.import_dialog = ImportDialog(path, frame, self.classes_panel.current_class(), self)
        self.import_dialog.accepted.connect(self._import_accepted)
        self.import_dialog.open()

    @Slot()
    def _import_accepted(self) -> None:
        dialog = self.import_dialog
        self.import_table(dialog.path, dialog.text_column, dialog.label_column)

    def import_table(self, path: Path, text_column: str, label_column: str | None = None) -> int:
        """Import rows of a table as examples (one undo step); returns how many were added."""
        from engine.project import Example
        from engine.tables import TableError, check_columns, read_table

        try:
            frame = read_table(path)
            check_columns(frame, [text_column] + ([label_column] if label_column else []), path)
        except TableError as error:
            self.banner.show_error(f"Could not import: {error}")
            return 0
        default = self.classes_panel.current_class()
        labels = frame[label_column].str.strip() if label_column else [default] * len(frame)
        examples = [
            Example(str(text).strip(), (label or default) if label_column else default)
            for text, label in zip(frame[text_column], labels, strict=True)
            if str(text).strip()
        ]
        if not examples:
            self.banner.show_error(
                f"Could not import: the column {text_column!r} of {Path(path).name} is empty."
            )
            return 0
        first = self.document.examples.rowCount()
        new_classes = self.document.add_examples(
            examples, f"Import {len(examples)} examples from {Path(path).name}"
        )
        self.examples_panel.select_rows(first, len(examples))
        message = f"Imported {len(examples)} example(s) from {Path(path).name}."
        if new_classes:
            more = " …" if len(new_classes) > 10 else ""
            message += f" New classes: {', '.join(new_classes[:10])}{more}."
        self.banner.show_message(message, MessageKind.SUCCESS)
        return len(examples)

    @Slot()
    def add_example(self) -> None:
        row = self.document.add_empty_example(
            self.classes_panel.current_class(), self.examples_panel.insertion_row()
        )
        index = self.document.examples.index(row, 0)
        self.examples_panel.select_rows(row, 1)
        self.examples_panel.view.edit(index)

    @Slot()
    def delete_selection(self) -> None:
        if self.classes_panel.view.hasFocus():
            self.classes_panel.delete_selected()
            return
        rows = self.examples_panel.selected_rows()
        if not rows:
            self.banner.show_error("Select the examples to delete first (click a row number).")
            return
        self.document.remove_rows(rows)
        self.statusBar().showMessage(f"Deleted {len(rows)} example(s). Undo with Ctrl+Z.", 5000)

    @Slot()
    def _add_class(self) -> None:
        self.classes_panel.add_class()

    # ---- classifier -------------------------------------------------------------------
    @Slot()
    def _train(self) -> None:
        self.train_panel.train()

    @Slot()
    def _cancel_training(self) -> None:
        if self.train_panel.is_busy:
            self.train_panel.cancel()

    @Slot()
    def _focus_try(self) -> None:
        self.try_panel.input.setFocus()

    @Slot()
    def save_classifier(self, path: Path | None = None) -> Path | None:
        from engine.files import atomic_write_bytes

        data = self.document.classifier_file
        if data is None:
            self.banner.show_error("Nothing to save yet: train the classifier first (press Train).")
            return None
        if not path:
            name = self.document.title().rstrip(" *").replace(" ", "-").lower() or "classifier"
            suggested = str(Path(self.settings.last_folder) / f"{name}.safetensors")
            path = prompts.save_path(
                self, "Save classifier file", suggested, prompts.CLASSIFIER_FILTER
            )
            if path is None:
                return None
        path = Path(path)
        if path.suffix != ".safetensors":
            path = path.with_name(path.name + ".safetensors")
        try:
            atomic_write_bytes(path, data)
        except OSError as error:
            self.banner.show_error(f"Could not save the classifier to {path}: {error}")
            return None
        labels = self.host.classifier.labels if self.host.classifier else []
        self.banner.show_message(
            f"Saved the classifier to {path} ({len(data) / 1024:,.0f} KB; classes: "
            f'{", ".join(labels)}). Use it with `fewshot predict {path.name} "some text"`, '
            "or share it: it works with the "
            "same backbone and meta-adapter checkpoint.",
            MessageKind.SUCCESS,
        )
        return path

    @Slot()
    def show_export(self) -> None:
        from app.export_dialog import ExportDialog

        if self.host.classifier is None:
            self.banner.show_error(
                "Nothing to export yet: train the classifier first (press Train)."
            )
            return
        if self.export_dialog is None:
            self.export_dialog = ExportDialog(self.host, self.runner, self.settings, self)
        self.export_dialog.show()
        self.export_dialog.raise_()

    @Slot()
    def show_batch(self) -> None:
        from app.batch_dialog import BatchDialog

        if self.host.classifier is None:
            self.banner.show_error("Train the classifier first: a file is classified with it.")
            return
        if self.batch_dialog is None:
            self.batch_dialog = BatchDialog(self.host, self.runner, self.settings, self)
        self.batch_dialog.show()
        self.batch_dialog.raise_()

    @Slot()
    def show_metatrain(self) -> None:
        from app.metatrain_dialog import MetaTrainDialog

        if self.metatrain_dialog is None:
            self.metatrain_dialog = MetaTrainDialog(self.settings, self)
            self.metatrain_dialog.checkpoint_created.connect(self._checkpoint_created)
        self.metatrain_dialog.show()
        self.metatrain_dialog.raise_()

    @Slot(str)
    def _checkpoint_created(self, folder: str) -> None:
        self.banner.show_message(
            f"Meta-training finished: the checkpoint in {folder} can now be chosen in Settings.",
            MessageKind.SUCCESS,
        )

    @Slot()
    def show_settings(self) -> None:
        from app.settings_dialog import SettingsDialog

        self.settings_dialog = SettingsDialog(
            self.settings.device, self.document.settings, self.host, self
        )
        self.settings_dialog.accepted.connect(self._settings_accepted)
        self.settings_dialog.open()

    @Slot()
    def _settings_accepted(self) -> None:
        dialog = self.settings_dialog
        self.settings.device = dialog.device()
        self.document.set_settings(dialog.project_settings())
        self._ensure_model()
        self._update_status()

    @Slot()
    def show_about(self) -> None:
        from app.about_dialog import AboutDialog

        self.about_dialog = AboutDialog(self.host.model if self.host.is_ready else None, self)
        self.about_dialog.open()

    @Slot()
    def show_shortcuts(self) -> None:
        lines = []
        for action in self.actions():
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            if keys:
                lines.append(f"{keys:>18}   {action.text().replace('&', '').rstrip('…')}")
        self.banner.show_message("Keyboard shortcuts:\n" + "\n".join(lines), MessageKind.INFO)

    # ---- state display ----------------------------------------------------------------
    @Slot()
    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.document.title()} — Fewshot Studio")

    @Slot()
    def _update_actions(self) -> None:
        if not self.host.engine_loaded:
            return
        busy = self.train_panel.is_busy
        self.train_action.setEnabled(not busy)
        self.cancel_action.setEnabled(busy)
        has_classifier = self.host.classifier is not None
        self.save_classifier_action.setEnabled(self.document.classifier_file is not None)
        self.export_action.setEnabled(has_classifier)
        self.batch_action.setEnabled(has_classifier)

    def _update_status(self) -> None:
        device, backbone, meta = self.host.describe()
        self.status_device.setText(f"Device: {device}")
        self.status_backbone.setText(f"Backbone: {backbone}")
        self.status_meta.setText(f"Meta-adapters: {meta}")
        warning = self.host.model.warning if self.host.model is not None else None
        self.status_meta.setToolTip(warning or META_TIP)
        self.status_meta.setStyleSheet("color: #b00020; font-weight: bold;" if warning else "")

    # ---- drag and drop ----------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.host.engine_loaded and _dropped_file(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        path = _dropped_file(event)
        if path is None:
            return
        event.acceptProposedAction()
        # After the drop returns, so the source application is not kept waiting.
        if path.name.endswith(PROJECT_SUFFIX):
            QTimer.singleShot(0, lambda: self.open_project(path))
        else:
            QTimer.singleShot(0, lambda: self.import_file(path))

    # ---- closing ----------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closing and not self._confirm_discard():
            event.ignore()
            return
        self._closing = True
        self._autosave_timer.stop()
        if self.metatrain_dialog is not None:
            self.metatrain_dialog.stop_process()
        self.runner.stop_all()
        self.settings.save_window_state(self.saveGeometry(), self.saveState())
        self.settings.sync()
        autosave_path().unlink(missing_ok=True)  # a clean exit: nothing to restore next time
        event.accept()


def _dropped_file(event) -> Path | None:
    urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
    if len(urls) != 1 or not urls[0].isLocalFile():
        return None
    path = Path(urls[0].toLocalFile())
    if path.name.endswith(PROJECT_SUFFIX) or path.suffix.lower() in TABLE_SUFFIXES:
        return path
    return None
