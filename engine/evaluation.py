"""An honest quality estimate: stratified k-fold cross-validation over the user's own examples.

Every fold trains a fresh classifier on the other folds exactly as the one-click Train does
(same backbone, meta checkpoint and learned steps) and predicts the held-out fold, so each
example is predicted once by a classifier that never saw it. Folds are stratified (every class
in every fold) and seeded, so the same examples give the same estimate.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from engine.backbone import Backbone, Text
from engine.classifier import DEFAULT_MAX_LENGTH, Classifier
from engine.finetune import CHOOSING_STEPS
from engine.folds import stratified_folds
from engine.formats import MetaCheckpoint
from engine.progress import ProgressCallback, ProgressEvent, StopCheck, check_cancel
from engine.training_data import check_training_data

DEFAULT_FOLDS = 5
# Below this, each held-out fold holds one example per class or none, and the estimate says
# more about which example was held out than about the classifier.
MIN_EXAMPLES_PER_CLASS = 4


# The estimate the app runs after Train: its folds reuse the step count the full fit chose
# instead of each choosing its own, and fewer folds keep it near the training time: 2 when
# training ran one fit, 3 when it also ran the held-out step choice (about twice the work).
# docs/benchmarks.md, "Quality estimate", has each recipe's error against the true accuracy.
QUICK_FOLDS, QUICK_FOLDS_AFTER_STEP_CHOICE = 2, 3


def quick_estimate_settings(training: dict) -> tuple[int, int | None]:
    """(folds, steps) for the estimate of a classifier trained with `training` (its record)."""
    folds = QUICK_FOLDS_AFTER_STEP_CHOICE if training.get("held_out") else QUICK_FOLDS
    return folds, training.get("steps")


class NotEnoughExamples(ValueError):
    """Too few examples per class for a held-out estimate to mean anything."""


@dataclass
class QualityReport:
    """What cross-validation measured, in `classes` order."""

    classes: list[str]
    folds: int
    examples: int
    accuracy: float  # fraction of examples predicted right by a classifier that did not see them
    per_class_accuracy: dict[str, float]  # recall: of the examples of a class, the share found
    confusion: list[list[int]]  # confusion[true][predicted], counts
    seconds: float
    # Per example, in the order given: the class and top probability its fold predicted.
    predicted: list[str] = field(default_factory=list)
    confidence: list[float] = field(default_factory=list)
    unsure_below: float = 0.0  # choose_unsure_below on those

    def weakest_class(self) -> str:
        return min(self.classes, key=lambda c: self.per_class_accuracy[c])

    def summary(self) -> str:
        """One sentence a person without ML background can read."""
        correct = sum(self.confusion[i][i] for i in range(len(self.classes)))
        return (
            f"{correct} of your {self.examples} examples were classified correctly by a "
            f"classifier that had not seen them ({self.folds}-fold cross-validation)."
        )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> QualityReport:
        return cls(
            classes=[str(c) for c in data["classes"]],
            folds=int(data["folds"]),
            examples=int(data["examples"]),
            accuracy=float(data["accuracy"]),
            per_class_accuracy={str(k): float(v) for k, v in data["per_class_accuracy"].items()},
            confusion=[[int(n) for n in row] for row in data["confusion"]],
            seconds=float(data.get("seconds", 0.0)),
            predicted=[str(label) for label in data.get("predicted", [])],
            confidence=[float(c) for c in data.get("confidence", [])],
            unsure_below=float(data.get("unsure_below", 0.0)),
        )


def not_enough_reason(
    labels: Sequence[str], *, minimum: int = MIN_EXAMPLES_PER_CLASS
) -> str | None:
    """Why no estimate can be made for these labels, in plain words; None when one can."""
    counts = Counter(str(label) for label in labels)
    if len(counts) < 2:
        return "A quality estimate needs at least two classes with examples."
    short = sorted(label for label, count in counts.items() if count < minimum)
    if short:
        names = ", ".join(repr(label) for label in short[:3]) + (" ..." if len(short) > 3 else "")
        return (
            f"Too few examples for a quality estimate: every class needs at least {minimum} "
            f"(short: {names}). The classifier is trained; add examples to see how good it is."
        )
    return None


def cross_validate(
    texts: Sequence[Text],
    labels: Sequence[str],
    *,
    backbone: Backbone,
    meta: MetaCheckpoint,
    classes: Sequence[str] | None = None,
    folds: int = DEFAULT_FOLDS,
    steps: int | None = None,
    max_length: int = DEFAULT_MAX_LENGTH,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
) -> QualityReport:
    """Estimate accuracy on unseen texts by k-fold cross-validation (k <= smallest class size).

    `steps` fixes every fold's step count (see Classifier.fit); None: each fold chooses it.

    Raises NotEnoughExamples when a class has fewer than MIN_EXAMPLES_PER_CLASS examples,
    ValueError for unusable data (as Classifier.fit), and Cancelled if stopped.
    """
    texts, labels = list(texts), [str(label) for label in labels]
    classes = check_training_data(texts, labels, classes)
    reason = not_enough_reason(labels)
    if reason:
        raise NotEnoughExamples(reason)
    folds = min(folds, min(Counter(labels).values()))
    started = time.perf_counter()
    groups = stratified_folds(labels, folds, seed=seed, texts=texts)
    index = {label: i for i, label in enumerate(classes)}
    confusion = [[0] * len(classes) for _ in classes]
    predicted: list[str] = [""] * len(texts)
    confidence = [0.0] * len(texts)
    units = 100  # progress units per fold: its fine-tuning, then predicting the held-out fold
    for fold, held_out in enumerate(groups):
        check_cancel(should_stop)
        held = set(held_out)
        train = [i for i in range(len(texts)) if i not in held]
        stage = f"Estimating quality (fold {fold + 1} of {folds})"

        def report(event: ProgressEvent, fold=fold, stage=stage) -> None:
            """Fold-level progress; choosing the step count shows in words, the bar waits."""
            if progress is None:
                return
            if event.stage == CHOOSING_STEPS:
                text, part = f"{stage}: {CHOOSING_STEPS.lower()}", 0
            else:
                text, part = stage, (units - 1) * event.done // max(event.total, 1)
            progress(ProgressEvent(text, fold * units + part, folds * units, event.metrics))

        classifier = Classifier(backbone, meta, max_length=max_length)
        classifier.fit(
            [texts[i] for i in train],
            [labels[i] for i in train],
            classes=classes,
            steps=steps,
            progress=report,
            should_stop=should_stop,
        )
        check_cancel(should_stop)
        probabilities = classifier.predict_proba([texts[i] for i in held_out])
        for i, row in zip(held_out, probabilities, strict=True):
            predicted[i], confidence[i] = classes[int(row.argmax())], float(row.max())
            confusion[index[labels[i]]][index[predicted[i]]] += 1
        if progress is not None:
            progress(ProgressEvent(stage, (fold + 1) * units, folds * units))
    correct = [guess == label for guess, label in zip(predicted, labels, strict=True)]
    return QualityReport(
        classes=list(classes),
        folds=folds,
        examples=len(texts),
        accuracy=sum(correct) / len(texts),
        per_class_accuracy={c: confusion[i][i] / sum(confusion[i]) for i, c in enumerate(classes)},
        confusion=confusion,
        seconds=round(time.perf_counter() - started, 2),
        predicted=predicted,
        confidence=[round(c, 4) for c in confidence],
        unsure_below=choose_unsure_below(confidence, correct, len(classes)),
    )


# A prediction counts as sure when, in cross-validation, predictions at least that confident
# were right this often; and never below halfway between chance and certainty, so a text
# like "asdf qwerty", which no class fits, is not named with a coin-flip's confidence.
SURE_ACCURACY = 0.9


def choose_unsure_below(confidence: Sequence[float], correct: Sequence[bool], classes: int):
    """The lowest top probability t with accuracy >= SURE_ACCURACY among held-out predictions
    at least that confident, and at least (1 + 1/classes) / 2; rounded to 2 decimals."""
    floor = (1 + 1 / classes) / 2
    ranked = sorted(zip(confidence, correct, strict=True), reverse=True)
    threshold, right = floor, 0
    for seen, (value, is_right) in enumerate(ranked, start=1):
        right += is_right
        if right / seen >= SURE_ACCURACY:
            threshold = max(floor, value)
    return round(min(threshold, 0.99), 2)
