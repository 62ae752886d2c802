"""The labeling queue: each strategy's order follows its definition on a real classifier."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import HELD_OUT

from engine.progress import Cancelled
from engine.suggestions import (
    NEAR_COPY_SIMILARITY,
    PoolFeatures,
    entropies,
    margins,
    queue_order,
    suggest,
)

POOL = [text for text, _ in HELD_OUT] + [
    "The weather was mild today",
    "asdf qwerty",
    "The referee showed a red card in the second half!",  # a near copy of a HELD_OUT text
    "The referee showed a red card in the second half.",
    "Whisk it",
]


def test_uncertainty_and_entropy_orders_follow_their_definitions(fitted_classifier):
    suggestions, features = suggest(fitted_classifier, POOL, strategy="uncertainty")
    probabilities = suggestions.probabilities
    assert probabilities.shape == (len(POOL), 3)
    np.testing.assert_allclose(probabilities, fitted_classifier.predict_proba(POOL), atol=1e-5)
    margin = margins(probabilities)
    assert list(margin[suggestions.order]) == sorted(margin)
    assert suggestions.suggested == fitted_classifier.predict(POOL)
    assert np.allclose(suggestions.confidence, probabilities.max(1))

    by_entropy, _ = suggest(fitted_classifier, POOL, strategy="entropy", features=features)
    entropy = entropies(probabilities)
    assert list(entropy[by_entropy.order]) == sorted(entropy, reverse=True)


def test_random_is_a_seeded_permutation(fitted_classifier):
    first, features = suggest(fitted_classifier, POOL, strategy="random", seed=3)
    again, _ = suggest(fitted_classifier, POOL, strategy="random", seed=3, features=features)
    other, _ = suggest(fitted_classifier, POOL, strategy="random", seed=4, features=features)
    assert sorted(first.order) == list(range(len(POOL)))
    assert list(first.order) == list(again.order) != list(other.order)


def test_diverse_never_queues_near_copies_together(fitted_classifier):
    base = "The referee showed a red card in the second half"
    copies = [f"{base}{end}" for end in ("", ".", "!", " today", "!!", " again")]
    pool = copies + [text for text, _ in HELD_OUT if text != base] + ["asdf qwerty"]
    suggestions, features = suggest(fitted_classifier, pool, strategy="diverse", limit=10)
    first = suggestions.order[:10]
    unit = features.features / np.linalg.norm(features.features, axis=1, keepdims=True)
    similarity = unit[first] @ unit[first].T
    np.fill_diagonal(similarity, 0)
    assert similarity.max() <= NEAR_COPY_SIMILARITY
    assert sum(int(i) < len(copies) for i in first) <= 1
    assert sorted(suggestions.order) == list(range(len(pool)))  # the rest follows by margin


def test_pools_are_read_in_slices_and_can_be_cancelled(fitted_classifier, monkeypatch):
    import engine.suggestions as suggestions_module

    monkeypatch.setattr(suggestions_module, "POOL_SLICE", 4)
    calls, events = [], []

    def embed(texts):
        calls.append(len(texts))
        return fitted_classifier.embed(texts)

    features = PoolFeatures.compute(embed, POOL, progress=events.append)
    assert max(calls) == 4 and sum(calls) == len(POOL)
    assert [e.done for e in events][-1] == len(POOL)
    with pytest.raises(Cancelled):
        PoolFeatures.compute(embed, POOL, should_stop=lambda: True)
    assert features.features.shape == (len(POOL), fitted_classifier.backbone.hidden_size)


def test_unknown_strategy_and_diverse_without_features_are_explained():
    with pytest.raises(ValueError, match="use one of uncertainty, entropy, diverse, random"):
        queue_order("smart", np.ones((2, 2)) / 2)
    with pytest.raises(ValueError, match="needs the pool's features"):
        queue_order("diverse", np.ones((2, 2)) / 2)


def test_cold_start_from_class_names_ranks_each_class_s_texts_first(backbone):
    from conftest import TOPICS

    from engine.suggestions import NamePrior

    prior = NamePrior(backbone, list(TOPICS), max_length=64)
    pool = [text for texts in TOPICS.values() for text in texts]
    truth = [label for label, texts in TOPICS.items() for _ in texts]
    suggestions, _ = suggest(prior, pool, strategy="uncertainty")
    probabilities = suggestions.probabilities
    for column, label in enumerate(prior.labels):
        top = np.argsort(-probabilities[:, column])[: len(TOPICS[label])]
        hits = sum(truth[i] == label for i in top)
        assert hits > len(TOPICS[label]) / 2, (label, hits)  # most of its own texts on top
    with pytest.raises(ValueError, match="Name the classes first"):
        NamePrior(backbone, [])


def test_the_suggest_command_writes_the_queue_with_the_pool_s_columns(
    fitted_classifier, tmp_path, capsys
):
    import pandas as pd

    from engine.cli import main

    classifier = fitted_classifier.save(tmp_path / "topics.safetensors")
    pool = tmp_path / "pool.csv"
    texts = POOL[:6]
    pd.DataFrame({"id": range(7), "message": texts + [""]}).to_csv(pool, sep=";", index=False)
    out = tmp_path / "queue.csv"
    argv = [str(classifier), str(pool), "--text-col", "message", "-n", "4", "-o", str(out)]
    assert main(["suggest", *argv]) == 0
    queue = pd.read_csv(out, dtype={"message": str})
    probabilities = [f"prob_{label}" for label in fitted_classifier.labels]
    assert list(queue.columns) == ["id", "message", "suggested_label", "confidence", *probabilities]
    assert len(queue) == 4 and "" not in set(queue["message"])
    expected = margins(fitted_classifier.predict_proba(texts))
    assert list(queue["message"]) == [texts[i] for i in np.argsort(expected, kind="stable")[:4]]
    assert list(queue["suggested_label"]) == fitted_classifier.predict(list(queue["message"]))
    assert "Wrote the first 4 of 6 texts in uncertainty order" in capsys.readouterr().out
    assert main(["suggest", *argv[:-1], str(tmp_path / "queue.xlsx")]) == 2
