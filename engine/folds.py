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
