"""Which unlabeled texts to label next: a suggested label for each, and a queue order.

Strategies (the queue shows the highest priority first):
- `uncertainty`: smallest margin between the two most probable classes;
- `entropy`: highest entropy of the class probabilities;
- `diverse`: uncertain texts spread over the embedding space: candidates are taken by
  margin, then picked greedily so that no text is a near copy of one already queued and each
  next one is far from those queued (a margin-weighted farthest-point rule);
- `random`: a seeded shuffle, the control every strategy is measured against.

A pool is read in slices and its pooled features are kept (`PoolFeatures`), so re-ranking
after the head changes costs no encoder pass, and a 100,000-text pool never goes to the
encoder as one batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from engine.progress import ProgressCallback, ProgressEvent, StopCheck, check_cancel

STRATEGIES = ("uncertainty", "entropy", "diverse", "random")
DEFAULT_STRATEGY = "uncertainty"
POOL_SLICE = 512  # texts per encoder call: cancel and progress answer within seconds
NEAR_COPY_SIMILARITY = 0.95  # cosine similarity above which two texts read as one
DIVERSE_CANDIDATES = 10  # the diverse queue picks among this many times as many uncertain texts


@dataclass
class Suggestions:
    """For every pool text (in pool order): the suggested label, its probabilities, and the
    queue: `order[0]` is the pool index to label first."""

    labels: list[str]  # class names, the columns of `probabilities`
    probabilities: np.ndarray  # (n, N)
    order: np.ndarray  # (n,) pool indices, best first
    strategy: str

    @property
    def suggested(self) -> list[str]:
        return [self.labels[i] for i in self.probabilities.argmax(1)]

    @property
    def confidence(self) -> np.ndarray:
        return self.probabilities.max(1)


class PoolFeatures:
    """The pooled features of one classifier's view of a pool, computed once, in slices."""

    def __init__(self, features: np.ndarray):
        self.features = features

    @classmethod
    def compute(
        cls,
        embed: Callable[[list[str]], np.ndarray],
        texts: Sequence[str],
        *,
        progress: ProgressCallback | None = None,
        should_stop: StopCheck | None = None,
    ) -> PoolFeatures:
        parts = []
        for start in range(0, len(texts), POOL_SLICE):
            check_cancel(should_stop)
            parts.append(embed(list(texts[start : start + POOL_SLICE])))
            if progress is not None:
                done = min(start + POOL_SLICE, len(texts))
                progress(ProgressEvent("Reading the pool", done, len(texts)))
        return cls(np.concatenate(parts) if parts else np.zeros((0, 0), np.float32))


def margins(probabilities: np.ndarray) -> np.ndarray:
    """Top-1 minus top-2 probability per row (1.0 for a single class)."""
    if probabilities.shape[1] < 2:
        return np.ones(len(probabilities))
    top = np.sort(probabilities, axis=1)
    return top[:, -1] - top[:, -2]


def entropies(probabilities: np.ndarray) -> np.ndarray:
    p = np.clip(probabilities, 1e-12, 1.0)
    return -(p * np.log(p)).sum(1)


def queue_order(
    strategy: str,
    probabilities: np.ndarray,
    features: np.ndarray | None = None,
    *,
    seed: int = 0,
    limit: int | None = None,
) -> np.ndarray:
    """Pool indices in queue order; `diverse` orders its first `limit` (default 50) picks and
    appends the rest by margin."""
    if strategy not in STRATEGIES:
        raise ValueError(f"Unknown strategy {strategy!r}: use one of {', '.join(STRATEGIES)}.")
    count = len(probabilities)
    if strategy == "random":
        return np.random.default_rng(seed).permutation(count)
    if strategy == "entropy":
        return np.argsort(-entropies(probabilities), kind="stable")
    by_margin = np.argsort(margins(probabilities), kind="stable")
    if strategy == "uncertainty":
        return by_margin
    if features is None:
        raise ValueError("The `diverse` strategy needs the pool's features (a torch classifier).")
    picked = diverse_picks(by_margin, margins(probabilities), features, limit or 50)
    rest = np.setdiff1d(by_margin, picked, assume_unique=True)
    return np.concatenate([picked, by_margin[np.isin(by_margin, rest)]]).astype(int)


def diverse_picks(
    by_margin: np.ndarray, margin: np.ndarray, features: np.ndarray, limit: int
) -> np.ndarray:
    """Greedy picks among the most uncertain candidates: skip near copies of a pick, then
    take the candidate with the largest (1 - margin) x distance to its nearest pick."""
    candidates = by_margin[: max(limit * DIVERSE_CANDIDATES, limit)]
    unit = features[candidates] / np.maximum(
        np.linalg.norm(features[candidates], axis=1, keepdims=True), 1e-12
    )
    weight = 1.0 - margin[candidates]
    picked = [0]
    nearest = 1.0 - unit @ unit[0]  # cosine distance to the closest pick
    while len(picked) < min(limit, len(candidates)):
        allowed = nearest > 1.0 - NEAR_COPY_SIMILARITY
        if not allowed.any():
            break
        score = np.where(allowed, weight * nearest, -np.inf)
        choice = int(score.argmax())
        picked.append(choice)
        nearest = np.minimum(nearest, 1.0 - unit @ unit[choice])
    return candidates[picked]


def suggest(
    classifier,
    texts: Sequence[str],
    *,
    strategy: str = DEFAULT_STRATEGY,
    features: PoolFeatures | None = None,
    seed: int = 0,
    limit: int | None = None,
    progress: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
) -> tuple[Suggestions, PoolFeatures]:
    """Suggestions for a pool with a torch Classifier; pass the returned features back in to
    re-rank the same pool with the same classifier without an encoder pass."""
    if strategy not in STRATEGIES:
        raise ValueError(f"Unknown strategy {strategy!r}: use one of {', '.join(STRATEGIES)}.")
    if features is None:
        features = PoolFeatures.compute(
            classifier.embed, texts, progress=progress, should_stop=should_stop
        )
    probabilities = (
        classifier.probabilities_of(features.features)
        if len(texts)
        else np.zeros((0, len(classifier.labels)), np.float32)
    )
    order = queue_order(strategy, probabilities, features.features, seed=seed, limit=limit)
    return Suggestions(list(classifier.labels), probabilities, order, strategy), features


class NamePrior:
    """Suggestions before any example exists: each text against its class names.

    The frozen encoder embeds the texts and the names; a text's probabilities are a softmax
    over its cosine similarity to each name (sharpened by NAME_SCALE), so a queue can start
    from an empty project. Same interface as a Classifier for `suggest`.
    """

    NAME_SCALE = 20.0

    def __init__(self, backbone, labels: Sequence[str], *, max_length: int = 128):
        if not labels:
            raise ValueError("Name the classes first: suggestions need at least one class.")
        self.backbone, self.labels, self.max_length = backbone, list(labels), max_length
        names = self.embed(self.labels)
        self._names = names / np.maximum(np.linalg.norm(names, axis=1, keepdims=True), 1e-12)

    def embed(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        import torch

        from engine.backbone import encode_texts, pool

        texts = list(texts)
        features = np.empty((len(texts), self.backbone.hidden_size), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                chosen = order[start : start + batch_size]
                inputs = encode_texts(self.backbone, [texts[i] for i in chosen], self.max_length)
                hidden = self.backbone.model(**inputs).last_hidden_state
                pooled = pool(hidden, inputs["attention_mask"], self.backbone.pooling)
                features[chosen] = pooled.float().cpu().numpy()
        return features

    def probabilities_of(self, features: np.ndarray) -> np.ndarray:
        unit = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
        scores = self.NAME_SCALE * unit @ self._names.T
        scores = np.exp(scores - scores.max(1, keepdims=True))
        return (scores / scores.sum(1, keepdims=True)).astype(np.float32)


def queue_table(frame, suggestions: Suggestions, rows: list[int], n: int | None):
    """The pool's own columns (its rows `rows` were suggested, in that order) plus
    suggested_label, confidence and prob_<label>, in queue order, the first `n`."""
    from engine.batch import PROBABILITY_PREFIX

    chosen = suggestions.order[:n] if n else suggestions.order
    table = frame.iloc[[rows[i] for i in chosen]].reset_index(drop=True)
    probabilities = np.round(suggestions.probabilities[chosen].astype(np.float64), 6)
    added = {
        "suggested_label": [suggestions.labels[i] for i in probabilities.argmax(1)],
        "confidence": probabilities.max(1),
    }
    for column, label in enumerate(suggestions.labels):
        added[f"{PROBABILITY_PREFIX}{label}"] = probabilities[:, column]
    return table.assign(**added)
