"""The main window: classes, examples, Train, Try it, and the menus that reach everything else."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtGui import (
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app import jobs, prompts
from app.app_settings import AppSettings
from app.assets import app_icon
from app.classes_panel import ClassesPanel
from app.document import Document
from app.examples_panel import ExamplesPanel
from app.garbage import collect_in_gui_thread
from app.importer import Importer
from app.job_runner import JobRunner
from app.message_banner import MessageBanner, MessageKind
from app.model_host import ModelHost
from app.pool_panel import PoolPanel
from app.project_session import PROJECT_SUFFIX, ProjectSession
from app.train_panel import TrainPanel
from app.try_panel import TryPanel
from app.window_actions import WindowActions
from app.worker import Worker
from engine.training_state import plural

if TYPE_CHECKING:
    from app.about_dialog import AboutDialog
    from app.batch_dialog import BatchDialog
    from app.export_dialog import ExportDialog
    from app.label_next_dialog import LabelNextDialog
    from app.metatrain_dialog import MetaTrainDialog
    from app.settings_dialog import SettingsDialog

log = logging.getLogger(__name__)
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
        self.export_dialog: ExportDialog | None = None
        self.batch_dialog: BatchDialog | None = None
        self.metatrain_dialog: MetaTrainDialog | None = None
        self.settings_dialog: SettingsDialog | None = None
        self.about_dialog: AboutDialog | None = None
        self.label_dialog: LabelNextDialog | None = None
        self._start_project: Path | None = None
        self._model_request: tuple[str, str, str | None] | None = None
        self._closing = False
        self._classifier_path: Path | None = None  # where "Save classifier" last wrote

        self.setWindowIcon(app_icon())
        self.resize(1280, 800)
        self.setAcceptDrops(True)
        self.session = ProjectSession(
            self, self.document, self.settings, self.runner, self.banner, self._ensure_model
        )
        self.importer = Importer(self)
        self.menu_actions = WindowActions(self)
        self.menu_actions.fill_menus(self.menuBar())
        self._create_central()
        self._create_status_bar()
        self._connect()
        self._set_engine_ready(False)
        geometry, state = self.settings.window_state()
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)
        self._update_title()

    # ---- construction -----------------------------------------------------------------
    def _create_central(self) -> None:
        actions = self.menu_actions
        self.classes_panel = ClassesPanel(self.document, self.banner)
        self.examples_panel = ExamplesPanel(
            self.document,
            [actions.paste, actions.import_, actions.add_row, actions.delete],
        )
        self.pool_panel = PoolPanel(
            self.document, self.host, self.runner, [actions.import_pool, actions.paste_pool]
        )
        self.pool_panel.label_next_requested.connect(self.label_next)
        self.middle = QTabWidget()
        self.middle.addTab(self.examples_panel, "Examples")
        self.middle.addTab(self.pool_panel, "Unlabeled")
        self.middle.setDocumentMode(True)
        self.train_panel = TrainPanel(self.document, self.host, self.runner, self.banner)
        self.train_panel.quality.cell_chosen.connect(self._show_confusion_cell)
        self.try_panel = TryPanel(self.document, self.host, self.runner)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.train_panel)
        right.addWidget(self.try_panel)
        right.setSizes([430, 300])
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.classes_panel)
        self.splitter.addWidget(self.middle)
        self.splitter.addWidget(right)
        self.splitter.setSizes([250, 640, 390])
        self.splitter.setChildrenCollapsible(False)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(10, 8, 10, 6)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.banner.float_over(central)

    def _create_status_bar(self) -> None:
        self.status_loading = QLabel()
        self.status_classifier = QLabel()
        self.status_classifier.setAccessibleName("Classifier state")
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
        for label in (
            self.status_classifier,
            self.status_device,
            self.status_backbone,
            self.status_meta,
        ):
            self.statusBar().addPermanentWidget(label)
        self._update_status()

    def _connect(self) -> None:
        self.document.changed.connect(self._update_title)
        self.document.pool.modelReset.connect(self._update_pool_tab)
        self.document.state_changed.connect(self._update_classifier_status)
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
        self.session.open_first(self._start_project)
        self._ensure_model()

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
            if action not in self.menu_actions.always_enabled:
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

    # ---- editing ----------------------------------------------------------------------
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
        self.statusBar().showMessage(
            f"Deleted {plural(len(rows), 'example')}. Undo with Ctrl+Z.", 5000
        )

    # ---- labeling with the model ------------------------------------------------------
    @Slot()
    def label_next(self) -> None:
        from app.label_next_dialog import LabelNextDialog

        if not self.document.pool.texts():
            self.banner.show_error("No texts to label: add some to the Unlabeled tab first.")
            return
        if not self.document.class_names():
            self.banner.show_error("Add the classes first (Add on the left), then label.")
            return
        self.label_dialog = LabelNextDialog(self.document, self.train_panel, parent=self)
        self.label_dialog.show()

    @Slot(list, str)
    def _review_rows(self, texts: list[str], source: str) -> None:
        """Batch results back into labeling: the least certain rows go to the pool."""
        if self.importer.add_pool_texts(texts, f"least certain rows of {source}"):
            self.label_next()

    @Slot(str, str)
    def _show_confusion_cell(self, true: str, predicted: str) -> None:
        rows = self.document.examples.rows_mispredicted(true, predicted)
        what = "right" if true == predicted else f"predicted as {predicted!r}"
        self.middle.setCurrentWidget(self.examples_panel)
        self.examples_panel.filter_rows(
            rows,
            f"Showing the {plural(len(rows), f'{true!r} example')} {what} in cross-validation.",
        )

    @Slot()
    def _update_pool_tab(self) -> None:
        count = len(self.document.pool.texts())
        self.middle.setTabText(1, f"Unlabeled ({count:,})" if count else "Unlabeled")

    # ---- classifier -------------------------------------------------------------------
    @Slot()
    def focus_try(self) -> None:
        self.try_panel.input.setFocus()

    @Slot()
    def save_classifier(self, path: Path | None = None) -> Path | None:
        from engine.files import atomic_write_bytes, describe_os_error

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
            self._classifier_path = path
        except OSError as error:
            self.banner.show_error(
                f"Could not save the classifier: {describe_os_error(error, path)}"
            )
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
            self.export_dialog = ExportDialog(
                self.document, self.host, self.runner, self.settings, self
            )
        self.export_dialog.prepare(self._classifier_path or self.document.path)
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
            self.batch_dialog.review_requested.connect(self._review_rows)
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
        actions = self.menu_actions
        actions.train.setEnabled(not busy)
        actions.cancel.setEnabled(busy)
        has_classifier = self.host.classifier is not None
        actions.save_classifier.setEnabled(self.document.classifier_file is not None)
        actions.export.setEnabled(has_classifier)
        actions.batch.setEnabled(has_classifier)

    @Slot()
    def _update_classifier_status(self) -> None:
        """The status bar's word on the classifier, from the same state the panels show."""
        state = self.document.model_state()
        word = "up to date" if state.current else "out of date" if state.trained else "not trained"
        self.status_classifier.setText(f"Classifier: {word}")
        self.status_classifier.setToolTip(state.summary)
        self.status_classifier.setStyleSheet("color: #8a5300;" if state.out_of_date else "")

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
            QTimer.singleShot(0, lambda: self.session.open_project(path))
        else:
            QTimer.singleShot(0, lambda: self.importer.import_file(path))

    # ---- closing ----------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closing and not self.session.confirm_discard():
            event.ignore()
            return
        self._closing = True
        if self.metatrain_dialog is not None:
            self.metatrain_dialog.stop_process()
        self.runner.stop_all()
        self.session.close()
        self.settings.save_window_state(self.saveGeometry(), self.saveState())
        self.settings.sync()
        event.accept()


def _dropped_file(event) -> Path | None:
    urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
    if len(urls) != 1 or not urls[0].isLocalFile():
        return None
    path = Path(urls[0].toLocalFile())
    if path.name.endswith(PROJECT_SUFFIX) or path.suffix.lower() in TABLE_SUFFIXES:
        return path
    return None
