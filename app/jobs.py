"""The engine calls the app makes off the GUI thread, each wrapped as a Worker job.

Each function here returns a job: a callable taking (progress, should_stop) that runs in a
worker thread. Engine modules are imported inside the jobs, so that torch is first imported
in the background, never on the start path.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.worker import Job

if TYPE_CHECKING:
    from engine.backbone import Backbone
    from engine.classifier import Classifier
    from engine.formats import MetaCheckpoint


@dataclass
class LoadedModel:
    backbone: Backbone
    meta: MetaCheckpoint
    meta_folder: Path | None = None  # None: the untrained checkpoint, built in memory
    warning: str | None = None  # shown to the user: why no trained checkpoint is in use


@dataclass
class TrainedClassifier:
    classifier: Classifier
    file_bytes: bytes  # the classifier file, as saved in the project and by "Save classifier"


def import_engine() -> Job:
    def job(progress, should_stop) -> None:
        import engine.classifier  # noqa: F401 - torch and the engine, imported once, here
        from engine.threads import apply_threads

        apply_threads()  # one per physical core, or FEWSHOT_THREADS
        import engine.evaluation  # noqa: F401
        import engine.project  # noqa: F401
        import engine.tables  # noqa: F401

    return job


def load_model(backbone_name: str, device: str, meta_folder: str | None) -> Job:
    def job(progress, should_stop) -> LoadedModel:
        from engine.backbone import load_backbone
        from engine.formats import load_meta_checkpoint
        from engine.locations import active_meta_checkpoint
        from engine.progress import ProgressEvent

        progress(ProgressEvent("Loading the backbone", 0, 2))
        backbone = load_backbone(backbone_name, device=device)
        progress(ProgressEvent("Loading the meta-adapters", 1, 2))
        if meta_folder:
            meta = load_meta_checkpoint(meta_folder, backbone=backbone)
            return LoadedModel(backbone, meta, Path(meta_folder))
        active = active_meta_checkpoint(backbone)
        return LoadedModel(backbone, active.checkpoint, active.folder, active.warning)

    return job


def classifier_bytes(classifier: Classifier) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        return classifier.save(Path(folder) / "classifier.safetensors").read_bytes()


def train(
    model: LoadedModel, max_length: int, texts: list[str], labels: list[str], classes: list[str]
) -> Job:
    def job(progress, should_stop) -> TrainedClassifier:
        from engine.classifier import Classifier
        from engine.progress import ProgressEvent, check_cancel

        progress(ProgressEvent("Preparing the examples", 0, 0))
        # A new classifier: the current one stays untouched until this one is complete.
        classifier = Classifier(model.backbone, model.meta, max_length=max_length)
        classifier.fit(texts, labels, classes=classes, progress=progress, should_stop=should_stop)
        check_cancel(should_stop)
        return TrainedClassifier(classifier, classifier_bytes(classifier))

    return job


def estimate_quality(
    model: LoadedModel,
    max_length: int,
    texts: list[str],
    labels: list[str],
    classes: list[str],
    training: dict,
) -> Job:
    """`training`: the trained classifier's record; the quick recipe reuses its step count."""

    def job(progress, should_stop):
        from engine.evaluation import cross_validate, quick_estimate_settings

        folds, steps = quick_estimate_settings(training)
        return cross_validate(
            texts,
            labels,
            backbone=model.backbone,
            meta=model.meta,
            classes=classes,
            folds=folds,
            steps=steps,
            max_length=max_length,
            progress=progress,
            should_stop=should_stop,
        )

    return job


def load_classifier(file_bytes: bytes, model: LoadedModel) -> Job:
    def job(progress, should_stop) -> Classifier:
        from engine.classifier import Classifier

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "project-classifier.safetensors"
            path.write_bytes(file_bytes)
            return Classifier.load(path, backbone=model.backbone, meta=model.meta)

    return job


def predict(classifier: Classifier, text: str) -> Job:
    def job(progress, should_stop) -> tuple[str, list[str], list[float]]:
        probabilities = classifier.predict_proba([text])[0]
        return text, list(classifier.labels), [float(p) for p in probabilities]

    return job
