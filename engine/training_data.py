"""Checks on a user's examples that need no model: run before anything loads, in milliseconds.

`check_training_data` is what `Classifier.fit`, the cross-validation and the CLI run first:
every message says which rows are wrong and what to do. `duplicate_key` groups copies of a
text (case, spacing and punctuation aside) so that a copy never lands on both sides of a
split: a held-out check that scores exact copies of training rows means nothing.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.backbone import Text  # annotations only: this module must not import torch

NON_ALPHANUMERIC = re.compile(r"[^0-9a-z]+")
# "3", "LABEL_3", "class 2", "c1", "A": names that say nothing about their class.
MEANINGLESS_NAME = re.compile(r"(label|class|category|cat|c|l)?[\s_-]*\d*|[a-z]", re.IGNORECASE)


def check_training_data(
    texts: Sequence[Text],
    labels: Sequence[object],
    classes: Sequence[str] | None,
    *,
    named: bool = False,
) -> list[str]:
    """Validate examples; return the class order (sorted labels unless `classes` is given).

    `named`: the classes' names count as examples (Classifier's name_weight), so a class
    whose name carries meaning may have none, and with `classes` given so may all of them.
    """
    if isinstance(texts, str) or isinstance(labels, str):
        raise ValueError(
            "`texts` and `labels` must be lists (one entry per example), not a single string: "
            'write fit(["first text", "second text"], ["label a", "label b"]).'
        )
    texts, labels = list(texts), list(labels)
    nameless = [c for c in classes or [] if not (named and name_text(str(c)))]
    if not texts and (classes is None or nameless):
        raise ValueError("No examples given: add at least one example for each of two classes.")
    if len(texts) != len(labels):
        raise ValueError(
            f"`texts` and `labels` differ in length ({len(texts)} vs {len(labels)}): "
            "give one label per text."
        )
    not_text = [i for i, text in enumerate(texts) if not is_text(text)]
    if not_text:
        kinds = sorted({type(texts[i]).__name__ for i in not_text})
        raise ValueError(
            f"Example(s) {not_text[:5]} are not text ({', '.join(kinds)}): give each text as a "
            "string (or a pair of strings for pair tasks)."
        )
    empty = [i for i, text in enumerate(texts) if is_blank(text)]
    if empty:
        raise ValueError(f"Example(s) {empty[:5]} have empty text: fill them in or remove them.")
    unlabeled = [i for i, label in enumerate(labels) if is_missing_label(label)]
    if unlabeled:
        raise ValueError(
            f"Example(s) {unlabeled[:5]} have no label (empty, None or NaN): label them or "
            "remove them."
        )
    counts = Counter(str(label) for label in labels)
    classes = sorted(counts) if classes is None else [str(c) for c in classes]
    unknown = sorted(set(counts) - set(classes))
    if unknown:
        raise ValueError(f"Label(s) {unknown} are not among the classes {classes}.")
    if len(classes) < 2:
        raise ValueError(
            f"Only one class ({classes[0]!r}) has examples: a classifier needs at least two "
            "classes with examples each."
        )
    empty_classes = [c for c in classes if counts[c] == 0 and not (named and name_text(c))]
    if empty_classes:
        raise ValueError(
            f"Class(es) {empty_classes} have no examples: add at least one example to each "
            "class, or remove the class."
        )
    return classes


def is_text(text: object) -> bool:
    if isinstance(text, tuple):
        return len(text) == 2 and all(isinstance(part, str) for part in text)
    return isinstance(text, str)


def is_blank(text: Text) -> bool:
    parts = text if isinstance(text, tuple) else (text,)
    return not any(part.strip() for part in parts)


def is_missing_label(label: object) -> bool:
    """None, NaN, pandas' NA or a blank string: what an empty spreadsheet cell becomes."""
    if label is None:
        return True
    try:
        if label != label:  # NaN, float or numpy
            return True
    except TypeError:  # pandas.NA: its truth value is undefined
        return True
    return not str(label).strip()


def duplicate_key(text: Text) -> str:
    """Lower-cased letters and digits only: "Great film!" and "great film" are copies."""
    parts = text if isinstance(text, tuple) else (text,)
    return "\x1f".join(NON_ALPHANUMERIC.sub("", part.lower()) for part in parts)


def duplicate_groups(texts: Sequence[Text]) -> list[list[int]]:
    """Indices of the texts that share a duplicate key with another, one list per key."""
    by_key: dict[str, list[int]] = {}
    for index, text in enumerate(texts):
        by_key.setdefault(duplicate_key(text), []).append(index)
    return [indices for indices in by_key.values() if len(indices) > 1]


def describe_duplicates(
    texts: Sequence[Text], row_numbers: Sequence[int] | None = None
) -> str | None:
    """A sentence for the user when some texts occur more than once; None when none do.

    `row_numbers` names the texts as the user knows them (a file's rows); else by position.
    """
    groups = duplicate_groups(texts)
    if not groups:
        return None
    copies = sum(len(group) for group in groups)
    first = texts[groups[0][0]]
    where = (
        f"rows {[row_numbers[i] for i in groups[0][:5]]}"
        if row_numbers is not None
        else f"positions {groups[0][:5]}"
    )
    return (
        f"{len(groups)} text(s) occur more than once ({copies} examples in all, e.g. {first!r} "
        f"at {where}): copies add no information and are kept together whenever examples are "
        "set aside to check the classifier."
    )


def name_text(name: str) -> str | None:
    """A class name as a text to embed ("non_irony" -> "non irony"), or None when it carries
    no meaning and must not steer the classifier."""
    if MEANINGLESS_NAME.fullmatch(name.strip()):
        return None
    return re.sub(r"[_\s]+", " ", name).strip()
