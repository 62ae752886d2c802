"""What the current classifier was trained on, and what changed in the examples since.

The training panel, Try it, Export and the status bar all take their words from here, so no
screen can call a classifier current while another says it is out of date. Torch-free: the
app reads it before the engine has loaded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from engine.training_data import name_text


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """`1 example`, `9 examples`, `1 class`, `2 classes`."""
    if count == 1:
        return f"{count:,} {noun}"
    return f"{count:,} {nouns or (noun + 'es' if noun.endswith('s') else noun + 's')}"


def settings_items(settings) -> tuple[tuple[str, object], ...]:
    """(name, value) pairs of a settings dataclass instance (ProjectSettings) or a mapping."""
    items = settings.items() if isinstance(settings, dict) else vars(settings).items()
    return tuple(sorted(items))


def training_pairs(examples: Iterable) -> tuple[list[str], list[str], int]:
    """(texts, labels, rows left out) from examples with `.text` and `.label`: a row trains
    only with a non-blank text and a class."""
    texts, labels, skipped = [], [], 0
    for example in examples:
        if example.text.strip() and example.label:
            texts.append(example.text)
            labels.append(example.label)
        else:
            skipped += 1
    return texts, labels, skipped


@dataclass(frozen=True)
class TrainedOn:
    """The examples (text, label), class order and settings a classifier was trained with."""

    examples: tuple[tuple[str, str], ...]
    classes: tuple[str, ...]
    settings: tuple[tuple[str, object], ...] = ()  # (name, value) of the project settings

    @classmethod
    def of(cls, texts: Sequence[str], labels: Sequence[str], classes: Sequence[str], settings):
        """`settings`: a dataclass instance (ProjectSettings) or a mapping."""
        return cls(tuple(zip(texts, labels, strict=True)), tuple(classes), settings_items(settings))

    @property
    def named_only(self) -> list[str]:
        """The classes trained from their names alone: they had no examples."""
        with_examples = {label for _, label in self.examples}
        return [name for name in self.classes if name not in with_examples]

    def describe(self) -> str:
        """What the classifier learnt from: "Trained on 15 examples in 3 classes"."""
        classes, named_only = plural(len(self.classes), "class"), len(self.named_only)
        if not self.examples:
            return f"Trained from the names of {classes} alone (no examples yet)"
        what = f"Trained on {plural(len(self.examples), 'example')} in {classes}"
        if named_only:
            what += f" ({plural(named_only, 'class')} from the name alone)"
        return what

    def to_dict(self) -> dict:
        return {
            "examples": [list(pair) for pair in self.examples],
            "classes": list(self.classes),
            "settings": dict(self.settings),
        }

    @classmethod
    def from_dict(cls, data: dict) -> TrainedOn:
        examples = data["examples"]
        if not isinstance(examples, list) or not all(
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(s, str) for s in pair)
            for pair in examples
        ):
            raise ValueError('"trained_on.examples" must be a list of [text, label] pairs.')
        classes, settings = data["classes"], data.get("settings", {})
        if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
            raise ValueError('"trained_on.classes" must be a list of class names.')
        if not isinstance(settings, dict):
            raise ValueError('"trained_on.settings" must be an object.')
        return cls(
            tuple(tuple(p) for p in examples), tuple(classes), tuple(sorted(settings.items()))
        )


@dataclass(frozen=True)
class ChangesSince:
    """How the trainable examples differ from those a classifier was trained on."""

    added: int = 0
    removed: int = 0
    classes_added: list[str] = field(default_factory=list)
    classes_removed: list[str] = field(default_factory=list)
    settings_changed: bool = False

    @property
    def any(self) -> bool:
        return bool(
            self.added
            or self.removed
            or self.classes_added
            or self.classes_removed
            or self.settings_changed
        )

    def describe(self) -> str:
        """`9 examples and 1 class added, 2 examples removed`, or "" when nothing changed."""
        parts = []
        if self.added or self.classes_added:
            added = [plural(self.added, "example")] if self.added else []
            if self.classes_added:
                added.append(plural(len(self.classes_added), "class"))
            parts.append(" and ".join(added) + " added")
        if self.removed or self.classes_removed:
            removed = [plural(self.removed, "example")] if self.removed else []
            if self.classes_removed:
                removed.append(plural(len(self.classes_removed), "class"))
            parts.append(" and ".join(removed) + " removed")
        if self.settings_changed:
            parts.append("settings changed")
        return ", ".join(parts)


def changes_since(
    trained: TrainedOn,
    texts: Sequence[str],
    labels: Sequence[str],
    settings,
    classes: Sequence[str] | None = None,
) -> ChangesSince:
    """Compare the trainable examples now (texts, labels) with what `trained` recorded.

    An edited example counts as one removed and one added: the classifier never saw the new text.
    `classes`: the project's classes now, examples or not (a class may train from its name);
    None: the classes are those the examples name, then and now.
    """
    before, now = Counter(trained.examples), Counter(zip(texts, labels, strict=True))
    if classes is None:
        classes_before, classes_now = {label for _, label in trained.examples}, set(labels)
    else:
        classes_before, classes_now = set(trained.classes), {*classes, *labels}
    return ChangesSince(
        added=sum((now - before).values()),
        removed=sum((before - now).values()),
        classes_added=sorted(classes_now - classes_before),
        classes_removed=sorted(classes_before - classes_now),
        settings_changed=bool(trained.settings) and settings_items(settings) != trained.settings,
    )


@dataclass(frozen=True)
class ModelState:
    """One sentence about the classifier for every screen, and whether to train again."""

    trained: bool
    current: bool  # trained on exactly the examples and settings shown now
    summary: str  # "Trained on 15 examples in 3 classes; 9 examples added since - train again."

    @property
    def out_of_date(self) -> bool:
        return self.trained and not self.current


NOT_TRAINED = "Not trained yet. Add a few examples per class, then press Train."
UNRECORDED = (
    "Trained, but this project does not record on which examples (it was saved by an older "
    "version): train again to be sure the classifier matches them."
)


def model_state(
    has_classifier: bool,
    trained: TrainedOn | None,
    texts: Sequence[str],
    labels: Sequence[str],
    settings,
    classes: Sequence[str] | None = None,
) -> ModelState:
    """`classes`: as for changes_since."""
    if not has_classifier:
        return ModelState(False, False, NOT_TRAINED)
    if trained is None:
        return ModelState(True, False, UNRECORDED)
    what = trained.describe()
    changes = changes_since(trained, texts, labels, settings, classes)
    if not changes.any:
        return ModelState(True, True, f"{what}.")
    return ModelState(True, False, f"{what}; {changes.describe()} since - train again.")


def train_blocker(labels: Sequence[str], classes: Sequence[str]) -> str | None:
    """Why Train cannot start yet, in plain words (the button is disabled with it); None: it can.

    The same rules as check_training_data with class names counted (Classifier's default): a
    class whose name says what it is ("billing") may have no examples yet, so a project of
    named classes trains from the names alone; a class named "3" needs an example.
    """
    counts = Counter(labels)
    classes = list(dict.fromkeys([*classes, *counts]))
    if not counts and len(classes) < 2:
        return "Add examples first: at least one for each of two classes."
    if len(classes) < 2:
        return f"Add examples of a second class: only {classes[0]!r} has examples."
    empty = [name for name in classes if not counts[name] and not name_text(name)]
    if empty:
        names = ", ".join(repr(name) for name in empty[:3]) + (" …" if len(empty) > 3 else "")
        if len(empty) == 1:
            return (
                f"The class {names} has no examples, and its name does not say what it is: "
                "add an example, or rename or delete the class."
            )
        return (
            f"{len(empty)} classes have no examples, and their names do not say what they are "
            f"({names}): add examples, or rename or delete them."
        )
    return None
