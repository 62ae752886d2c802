"""The loaded engine state: backbone, meta checkpoint and the current classifier."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot

from app import jobs
from app.job_runner import JobRunner
from app.worker import Worker

if TYPE_CHECKING:
    from engine.classifier import Classifier

ENGINE_JOB, MODEL_JOB = "import engine", "load model"


class ModelHost(QObject):
    """Imports the engine, then loads the backbone, in the background, after the window shows.

    A load asked for while one is running waits and then runs with the latest request,
    so changing settings twice quickly loads once more, not twice.
    """

    engine_ready = Signal()
    loading = Signal(str)  # what is being loaded, for the status bar
    model_ready = Signal()
    model_failed = Signal(str)
    classifier_changed = Signal()

    def __init__(self, runner: JobRunner, parent: QObject | None = None):
        super().__init__(parent)
        self._runner = runner
        self.engine_loaded = False
        self.model: jobs.LoadedModel | None = None
        self.classifier: Classifier | None = None
        self._pending: tuple[str, str, str | None] | None = None
        runner.job_finished.connect(self._job_finished)

    @property
    def is_ready(self) -> bool:
        return self.model is not None and not self._runner.is_running(MODEL_JOB)

    def import_engine(self) -> None:
        worker = Worker(jobs.import_engine(), name=ENGINE_JOB)
        worker.succeeded.connect(self._engine_imported)
        worker.failed.connect(self.model_failed)
        self.loading.emit("Starting the engine…")
        self._runner.start(worker)

    def load(self, backbone: str, device: str, meta_folder: str | None) -> None:
        self._pending = (backbone, device, meta_folder)
        if not self._runner.is_running(MODEL_JOB):
            self._start_pending()

    def use(self, model: jobs.LoadedModel) -> None:
        """Install an already loaded model (tests and benchmarks share one backbone)."""
        self.engine_loaded = True
        self.model = model
        self.model_ready.emit()

    def set_classifier(self, classifier: Classifier | None) -> None:
        self.classifier = classifier
        self.classifier_changed.emit()

    def describe(self) -> tuple[str, str, str]:
        """(device, backbone, meta checkpoint) in words for the status bar."""
        if self.model is None:
            return "…", "loading…", "…"
        backbone, meta = self.model.backbone, self.model.meta
        device = str(backbone.device)
        from engine.backbone import DEFAULT_BACKBONE

        name = backbone.name if backbone.name == DEFAULT_BACKBONE else Path(backbone.name).name
        return device, name, meta.name + ("" if meta.trained else " (untrained)")

    @Slot(object)
    def _engine_imported(self, _result) -> None:
        self.engine_loaded = True
        self.engine_ready.emit()

    def _start_pending(self) -> None:
        backbone, device, meta_folder = self._pending
        self._pending = None
        worker = Worker(jobs.load_model(backbone, device, meta_folder), name=MODEL_JOB)
        worker.progressed.connect(self._progressed)
        worker.succeeded.connect(self._loaded)
        worker.failed.connect(self._failed)
        self.loading.emit(f"Loading {backbone}…")
        self._runner.start(worker)

    @Slot(str, int, int, object)
    def _progressed(self, stage: str, done: int, total: int, metrics) -> None:
        self.loading.emit(f"{stage}…")

    @Slot(object)
    def _loaded(self, model: jobs.LoadedModel) -> None:
        if self._pending is None:
            self.model = model
            self.model_ready.emit()

    @Slot(str)
    def _failed(self, message: str) -> None:
        if self._pending is None:
            self.model_failed.emit(message)

    @Slot(str)
    def _job_finished(self, name: str) -> None:
        if name == MODEL_JOB and self._pending is not None:
            self._start_pending()
