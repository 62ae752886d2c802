"""Stratified splits of a user's examples, shared by training and the quality estimate."""

from __future__ import annotations

import random
from collections.abc import Sequence

from engine.training_data import duplicate_key


def stratified_folds(
    labels: Sequence[str], folds: int, *, seed: int = 0, texts: Sequence | None = None
) -> list[list[int]]:
    """Split example indices into `folds` groups, each class spread evenly over the groups.

    With `texts`, copies of a text (engine.training_data.duplicate_key) go to one group
    together, with the class of their first row; without copies the split is the same.
    """
    if folds < 2:
        raise ValueError(f"`folds` must be at least 2, got {folds}.")
    rng = random.Random(seed)
    units: dict[object, list[int]] = {}  # rows that must stay together
    for index in range(len(labels)):
        key = duplicate_key(texts[index]) if texts is not None else index
        units.setdefault(key, []).append(index)
    by_class: dict[str, list[list[int]]] = {}
    for unit in units.values():
        by_class.setdefault(str(labels[unit[0]]), []).append(unit)
    groups: list[list[int]] = [[] for _ in range(folds)]
    position = 0  # continues across classes so fold sizes differ by at most one
    for label in sorted(by_class):
        class_units = by_class[label]
        rng.shuffle(class_units)
        for unit in class_units:
            groups[position % folds].extend(unit)
            position += 1
    return [sorted(group) for group in groups]


def stratified_subsample(
    labels: Sequence[str], per_class: int, *, seed: int = 0, texts: Sequence | None = None
) -> list[int]:
    """Sorted indices of at most `per_class` examples of each class, drawn at random (seeded);
    all indices when no class has more. With `texts`, distinct texts are drawn first, so a
    subsample of a file with many copies still covers as many different texts as it can."""
    rng = random.Random(seed)
    by_class: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        by_class.setdefault(str(label), []).append(index)
    chosen = []
    for label in sorted(by_class):
        rows = by_class[label]
        rng.shuffle(rows)
        if texts is not None:  # one row of each text first, its copies after all of those
            seen: set[str] = set()
            first, later = [], []
            for index in rows:
                key = duplicate_key(texts[index])
                (later if key in seen else first).append(index)
                seen.add(key)
            rows = first + later
        chosen.extend(rows[:per_class])
    return sorted(chosen)
