"""Stratified splits of a user's examples, shared by training and the quality estimate."""

from __future__ import annotations

import random
from collections.abc import Sequence


def stratified_folds(labels: Sequence[str], folds: int, *, seed: int = 0) -> list[list[int]]:
    """Split example indices into `folds` groups, each class spread evenly over the groups."""
    if folds < 2:
        raise ValueError(f"`folds` must be at least 2, got {folds}.")
    rng = random.Random(seed)
    by_class: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        by_class.setdefault(str(label), []).append(index)
    groups: list[list[int]] = [[] for _ in range(folds)]
    position = 0  # continues across classes so fold sizes differ by at most one
    for label in sorted(by_class):
        indices = by_class[label]
        rng.shuffle(indices)
        for index in indices:
            groups[position % folds].append(index)
            position += 1
    return [sorted(group) for group in groups]
