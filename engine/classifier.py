"""A trained few-shot classifier: fit on a handful of examples, predict, save, load."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from engine.adapters import AdaptedEncoder
from engine.backbone import Backbone, Text, encode_texts, load_backbone
from engine.finetune import (
    Batch,
    NamePrior,
    Params,
    choose_steps,
    detached,
    fit_lowest_loss,
    prototype_start,
)
from engine.folds import stratified_folds, stratified_subsample
from engine.formats import (
    ClassifierFile,
    FormatError,
    MetaCheckpoint,
    check_compatible,
    read_classifier_file,
    save_classifier_file,
)
from engine.head import HEAD_BIAS, HEAD_WEIGHT, fit_linear_head, head_logits
from engine.locations import default_meta_checkpoint, find_meta_checkpoint
from engine.progress import ProgressCallback, ProgressEvent, StopCheck, check_cancel
from engine.training_data import check_training_data, describe_duplicates, name_text

log = logging.getLogger(__name__)
DEFAULT_MAX_LENGTH = 128  # tokens; longer texts are truncated (and counted in the summary)
# With enough examples, DESIGN's "optionally more steps, early-stopped on a held-out fold":
# a quarter of each class (at least 4 examples of it) judges up to 2 x S learned steps.
HELD_OUT_FOLDS = 4
MIN_HELD_OUT_PER_CLASS = 4
MAX_STEPS_FACTOR = 2
# Many examples: the learned steps run on at most this many of each class (a seeded draw),
# then one forward pass over all of them refits the head as a logistic regression with
# sklearn's default strength: measured in docs/benchmarks.md, "Many examples".
LEARNED_STEPS_PER_CLASS = 64
HEAD_REFIT_C = 1.0
# A class's name counts as this many examples in the head's start: +3 to +8 points at k = 1-4
# on both dev suites (docs/benchmarks.md, "Class names as knowledge"); names such as "1" or
# "LABEL_3" count as none.
NAME_WEIGHT = 1.0
READING_ALL = "Reading all examples"  # progress stage of the head refit's pass


class NotFittedError(RuntimeError):
    """predict or save was called before fit or load."""


class Classifier:
    """Frozen backbone + meta-adapters (omega) + per-task adapters (phi) + a linear head.

    `fit` starts phi from the meta-learned phi_0, initialises the head from class prototypes
    and runs the learned S steps with the learned step sizes: nothing to tune. With 16 or
    more examples in every class, a held-out quarter decides whether more steps (up to 2 x S)
    help, and the final fit on all examples runs that many. The final fit keeps its
    lowest-loss iterate, so a step that overshoots is undone. With more than
    `learned_steps_per_class` examples in a class, the steps run on a draw of that many of
    each class and the head is then refitted on all examples.
    """

    def __init__(
        self,
        backbone: Backbone | None = None,
        meta: MetaCheckpoint | None = None,
        *,
        max_length: int = DEFAULT_MAX_LENGTH,
        learned_steps_per_class: int | None = LEARNED_STEPS_PER_CLASS,
        name_weight: float = NAME_WEIGHT,
    ):
        self.backbone = backbone or load_backbone()
        self.meta = meta or default_meta_checkpoint(self.backbone)
        if self.meta.backbone_fingerprint != self.backbone.fingerprint:
            raise FormatError(
                f"Meta checkpoint {self.meta.name!r} was trained for backbone "
                f"{self.meta.backbone!r}, not {self.backbone.name!r}."
            )
        if max_length < 8:
            raise ValueError(f"`max_length` must be at least 8 tokens, got {max_length}.")
        self.max_length = max_length
        self.learned_steps_per_class = learned_steps_per_class  # None: every example
        # How many examples a class's name counts as in the head's start (0: names unused);
        # names that carry no meaning ("1", "LABEL_3") count as none.
        self.name_weight = name_weight
        self.labels: list[str] = []
        self.training: dict = {}
        # A top probability below this reads "unsure" (Try it, batch output, ONNX); the app
        # sets it from the quality estimate (engine.evaluation.choose_unsure_below).
        self.unsure_below = 0.0
        self._model: AdaptedEncoder | None = None
        self._head: Params = {}

    # ---- training ---------------------------------------------------------------------
    def fit(
        self,
        texts: Sequence[Text],
        labels: Sequence[str],
        *,
        classes: Sequence[str] | None = None,
        steps: int | None = None,
        progress: ProgressCallback | None = None,
        should_stop: StopCheck | None = None,
    ) -> Classifier:
        """Fine-tune on (texts, labels). `classes` fixes the label order (default: sorted).

        `steps` fixes the step count and skips the held-out choice (the quality estimate's
        folds reuse the count the full fit chose); None: the learned S, or the held-out choice.

        Raises ValueError for unusable data and `Cancelled` if stopped; either way the
        classifier keeps what it had before the call.
        """
        classes = check_training_data(texts, labels, classes, named=self.name_weight > 0)
        texts, labels = list(texts), [str(label) for label in labels]
        duplicates = describe_duplicates(texts)
        if duplicates:
            log.warning(duplicates)
        if steps is not None and steps < 0:
            raise ValueError(f"`steps` must be 0 or more, got {steps}.")
        started = time.perf_counter()
        model = self._new_model()
        stepped_rows = stratified_subsample(
            labels, self.learned_steps_per_class or len(labels), texts=texts
        )
        fitted, steps, held_out = self._learned_steps(
            model,
            [texts[i] for i in stepped_rows],
            [labels[i] for i in stepped_rows],
            classes,
            steps,
            progress,
            should_stop,
        )
        load_adapters(model, fitted)
        if len(stepped_rows) < len(texts):
            fitted = self._head_on_all(model, fitted, texts, labels, classes, progress, should_stop)
        self._install(model, fitted, classes)
        self.unsure_below = 0.0  # a threshold belongs to the classifier it was measured on
        self.training = {
            "examples": len(texts),
            "examples_per_class": dict(Counter(labels)),
            "steps": steps,
            "stepped_on": len(stepped_rows),
            "truncated_texts": count_truncated(self.backbone, texts, self.max_length),
            "seconds": round(time.perf_counter() - started, 2),
        }
        if held_out:
            self.training["held_out"] = held_out
        if self.training["truncated_texts"]:
            log.warning(
                "%d training texts were longer than %d tokens and were truncated.",
                self.training["truncated_texts"],
                self.max_length,
            )
        return self

    def _learned_steps(
        self,
        model: AdaptedEncoder,
        texts: list[Text],
        labels: list[str],
        classes: list[str],
        steps: int | None,
        progress: ProgressCallback | None,
        should_stop: StopCheck | None,
    ) -> tuple[Params, int, dict]:
        """The learned steps from phi_0 on (texts, labels): (params, steps run, the held-out
        choice's record, {} when it did not run). No texts: the classes' names alone."""
        if not texts:
            return self._start(model, None, classes), 0, {}
        inputs = encode_texts(self.backbone, texts, self.max_length)
        index = {label: i for i, label in enumerate(classes)}
        device = inputs["input_ids"].device
        examples = Batch(inputs, torch.tensor([index[label] for label in labels], device=device))
        step_sizes = {n: t.to(device) for n, t in self.meta.step_sizes().items()}
        held_out = held_out_fold(texts, labels) if steps is None else []
        steps, record = self.meta.steps if steps is None else steps, {}
        if held_out:
            held = set(held_out)
            support = examples.select([i for i in range(len(labels)) if i not in held])
            steps, accuracy = choose_steps(
                model,
                self._start(model, support, classes),
                support,
                examples.select(held_out),
                step_sizes,
                min_steps=self.meta.steps,
                max_steps=MAX_STEPS_FACTOR * self.meta.steps,
                progress=progress,
                should_stop=should_stop,
            )
            record = {"examples": len(held_out), "accuracy": round(accuracy, 4)}
        fitted, steps = fit_lowest_loss(
            model,
            self._start(model, examples, classes),
            examples,
            steps,
            step_sizes,
            progress=progress,
            should_stop=should_stop,
        )
        return fitted, steps, record

    def _start(self, model: AdaptedEncoder, support: Batch | None, classes: list[str]) -> Params:
        """phi_0 and the prototype head, as meta-training starts its inner loop, as leaves."""
        device = self.backbone.device
        phi0 = {n: t.to(device) for n, t in self.meta.phi0.items()}
        scale = self.meta.log_scale.exp().to(device)
        names = self._name_prior(classes, device) if self.name_weight > 0 else None
        with torch.no_grad():
            return detached(prototype_start(model, phi0, support, len(classes), scale, names))

    def _name_prior(self, classes: list[str], device: torch.device) -> NamePrior:
        texts = [name_text(name) for name in classes]
        inputs = encode_texts(self.backbone, [t or name for t, name in zip(texts, classes)], 32)
        weight = torch.tensor([self.name_weight if t else 0.0 for t in texts], device=device)
        return NamePrior(Batch(inputs, torch.arange(len(classes), device=device)), weight)

    def _new_model(self) -> AdaptedEncoder:
        model = AdaptedEncoder(self.backbone, self.meta.config)
        model.load_state_dict(self.meta.omega, strict=False)
        return model.requires_grad_(False)  # omega and theta stay frozen at use time

    def _head_on_all(
        self,
        model: AdaptedEncoder,
        fitted: Params,
        texts: list[Text],
        labels: list[str],
        classes: list[str],
        progress: ProgressCallback | None,
        should_stop: StopCheck | None,
    ) -> Params:
        """The head refitted on every example's adapted features: the learned steps ran on a
        subsample (they cost a forward and backward pass per example per step; this costs
        one forward pass per example, once)."""
        features = pooled_outputs(
            model,
            self.backbone,
            texts,
            self.max_length,
            progress=progress,
            should_stop=should_stop,
        )
        check_cancel(should_stop)  # asked during the last batch
        index = {label: i for i, label in enumerate(classes)}
        targets = torch.tensor([index[label] for label in labels])
        head = {n: fitted[n].detach().cpu() for n in (HEAD_WEIGHT, HEAD_BIAS)}
        head = fit_linear_head(torch.from_numpy(features), targets, head, HEAD_REFIT_C)
        return {**fitted, **{n: t.to(fitted[n].device) for n, t in head.items()}}

    def _install(self, model: AdaptedEncoder, params: Params, classes: Sequence[str]) -> None:
        """Make fitted params the live ones in one step, so a cancelled fit changes nothing."""
        self._model = model
        self._head = {n: params[n].detach() for n in (HEAD_WEIGHT, HEAD_BIAS)}
        self.labels = list(classes)

    # ---- inference --------------------------------------------------------------------
    @property
    def is_fitted(self) -> bool:
        return self._model is not None

    def predict_proba(self, texts: Text | Sequence[Text], *, batch_size: int = 32) -> np.ndarray:
        """Class probabilities (n, len(labels)), columns in `self.labels` order."""
        if not self.is_fitted:
            raise NotFittedError("This classifier is not trained yet: call fit() or load() first.")
        return self.probabilities_of(self.embed(texts, batch_size=batch_size))

    def embed(self, texts: Text | Sequence[Text], *, batch_size: int = 32) -> np.ndarray:
        """The adapted encoder's pooled features (n, D), what the head reads: suggestions
        cache them, so re-ranking a pool after a change of head costs no encoder pass."""
        if not self.is_fitted:
            raise NotFittedError("This classifier is not trained yet: call fit() or load() first.")
        texts = [texts] if isinstance(texts, (str, tuple)) else list(texts)
        return pooled_outputs(self._model, self.backbone, texts, self.max_length, batch_size)

    def probabilities_of(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities (n, len(labels)) from `embed` features."""
        with torch.inference_mode():
            logits = head_logits(torch.from_numpy(features), self._head)
            return logits.softmax(-1).numpy()

    def predict(self, texts: Text | Sequence[Text], *, batch_size: int = 32) -> list[str] | str:
        """Predicted labels; a single text gives a single label."""
        probabilities = self.predict_proba(texts, batch_size=batch_size)
        predicted = [self.labels[i] for i in probabilities.argmax(1)]
        return predicted[0] if isinstance(texts, (str, tuple)) else predicted

    # ---- files ------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the classifier file (adapters + head + metadata) atomically."""
        if not self.is_fitted:
            raise NotFittedError("Nothing to save: train the classifier first.")
        phi = {n: p for n, p in self._model.named_parameters() if n in self.meta.phi0}
        content = ClassifierFile(
            tensors={**phi, **self._head},
            labels=self.labels,
            backbone=self.backbone.name,
            backbone_fingerprint=self.backbone.fingerprint,
            meta_name=self.meta.name,
            meta_fingerprint=self.meta.fingerprint,
            meta_trained=self.meta.trained,
            pooling=self.backbone.pooling.value,
            max_length=self.max_length,
            adapter_config=vars(self.meta.config).copy(),
            training=self.training,
            unsure_below=float(self.unsure_below),
        )
        return save_classifier_file(content, path)

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        backbone: Backbone | None = None,
        meta: MetaCheckpoint | None = None,
    ) -> Classifier:
        """Read a classifier file; the backbone and meta checkpoint default to those it names."""
        content = read_classifier_file(path)
        backbone = backbone or load_backbone(content.backbone)
        meta = meta or find_meta_checkpoint(content.meta_fingerprint, backbone)
        check_compatible(content, backbone, meta, path)
        missing = sorted(set(meta.phi0) - set(content.tensors))
        if missing:
            raise FormatError(f"`{path}` lacks adapter tensors, e.g. {missing[0]!r}.")
        classifier = cls(backbone, meta, max_length=content.max_length)
        model = classifier._new_model()
        load_adapters(model, content.tensors)
        classifier._install(model, content.tensors, content.labels)
        classifier.training = content.training
        classifier.unsure_below = content.unsure_below
        return classifier


def load_adapters(model: AdaptedEncoder, params: Params) -> None:
    """Copy the adapter tensors of `params` into `model` (the head entries stay out)."""
    phi = {n: p.detach() for n, p in params.items() if not n.startswith("head.")}
    missing, unexpected = model.load_state_dict(phi, strict=False)
    if unexpected:
        raise FormatError(f"Adapter tensors do not fit this model: {unexpected[:3]} ...")


def pooled_outputs(
    model: AdaptedEncoder,
    backbone: Backbone,
    texts: list[Text],
    max_length: int,
    batch_size: int = 32,
    *,
    progress: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
) -> np.ndarray:
    """The model's pooled features, (n, D) float32, in the order given."""
    features = np.empty((len(texts), backbone.hidden_size), dtype=np.float32)
    # Sort by length so each batch pads little, then restore the caller's order.
    order = sorted(range(len(texts)), key=lambda i: len(str(texts[i])))
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            check_cancel(should_stop)
            chosen = order[start : start + batch_size]
            inputs = encode_texts(backbone, [texts[i] for i in chosen], max_length)
            features[chosen] = model(**inputs).float().cpu().numpy()
            if progress is not None:
                done = start + len(chosen)
                progress(ProgressEvent(READING_ALL, done, len(texts), unit="text"))
    return features


def held_out_fold(texts: list[Text], labels: list[str]) -> list[int]:
    """A stratified quarter of the examples to choose the step count on, or [] if too few.

    Every class must put MIN_HELD_OUT_PER_CLASS examples in it, else a single example decides
    how long to train. Copies of a text stay on one side.
    """
    if min(Counter(labels).values()) < HELD_OUT_FOLDS * MIN_HELD_OUT_PER_CLASS:
        return []
    return stratified_folds(labels, HELD_OUT_FOLDS, texts=texts)[0]


def count_truncated(backbone: Backbone, texts: list[Text], max_length: int) -> int:
    if not texts:
        return 0
    lengths = backbone.tokenizer(
        [t[0] if isinstance(t, tuple) else t for t in texts],
        [t[1] for t in texts] if texts and isinstance(texts[0], tuple) else None,
        truncation=False,
    )["input_ids"]
    return sum(len(ids) > max_length for ids in lengths)
