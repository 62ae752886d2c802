"""Cross-validation: stratified seeded folds and a report consistent with its confusion matrix."""

from collections import Counter

import pytest
from test_app_support import one_torch_thread  # noqa: F401 - fixture

from engine.evaluation import (
    NotEnoughExamples,
    QualityReport,
    cross_validate,
    not_enough_reason,
)
from engine.folds import stratified_folds
from engine.progress import Cancelled

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_folds_are_stratified_disjoint_and_seeded():
    labels = ["a"] * 7 + ["b"] * 5 + ["c"] * 4
    folds = stratified_folds(labels, 4, seed=3)
    assert sorted(i for fold in folds for i in fold) == list(range(len(labels)))
    assert max(map(len, folds)) - min(map(len, folds)) <= 1
    for fold in folds:
        assert set(Counter(labels[i] for i in fold)) == {"a", "b", "c"}
    assert folds == stratified_folds(labels, 4, seed=3)
    assert folds != stratified_folds(labels, 4, seed=4)


def test_reasons_for_no_estimate():
    assert "two classes" in not_enough_reason(["a"] * 9)
    assert "'b'" in not_enough_reason(["a"] * 5 + ["b"] * 3)
    assert not_enough_reason(["a"] * 4 + ["b"] * 4) is None


def test_cross_validation_on_topics(backbone, topic_examples):
    from engine.locations import default_meta_checkpoint

    texts, labels = topic_examples
    meta = default_meta_checkpoint(backbone)
    events = []
    report = cross_validate(
        texts, labels, backbone=backbone, meta=meta, folds=4, max_length=32, progress=events.append
    )
    assert report.folds == 4 and report.examples == len(texts)
    assert report.classes == sorted(set(labels))
    assert sum(map(sum, report.confusion)) == len(texts)
    diagonal = sum(report.confusion[i][i] for i in range(3))
    assert report.accuracy == pytest.approx(diagonal / len(texts))
    assert report.accuracy > 0.6  # three distinct topics: far above chance (1/3)
    assert events[-1].done == events[-1].total and "fold 4 of 4" in events[-1].stage
    assert [e.done for e in events] == sorted(e.done for e in events)
    assert QualityReport.from_dict(report.to_dict()) == report
    assert f"of your {len(texts)} examples" in report.summary()


def test_too_few_examples_and_cancel(backbone, topic_examples):
    from engine.locations import default_meta_checkpoint

    texts, labels = topic_examples
    meta = default_meta_checkpoint(backbone)
    with pytest.raises(NotEnoughExamples, match="at least 4"):
        cross_validate(
            texts[:3] + texts[8:11],
            labels[:3] + labels[8:11],
            backbone=backbone,
            meta=meta,
            max_length=32,
        )
    with pytest.raises(Cancelled):
        cross_validate(
            texts, labels, backbone=backbone, meta=meta, max_length=32, should_stop=lambda: True
        )


def test_the_quick_estimate_reuses_the_trained_step_count_with_fewer_folds(
    backbone, topic_examples
):
    from engine.evaluation import quick_estimate_settings
    from engine.locations import default_meta_checkpoint

    assert quick_estimate_settings({"steps": 10}) == (2, 10)
    assert quick_estimate_settings({"steps": 14, "held_out": {"examples": 8}}) == (3, 14)
    texts, labels = topic_examples
    events = []
    report = cross_validate(
        texts,
        labels,
        backbone=backbone,
        meta=default_meta_checkpoint(backbone),
        folds=2,
        steps=2,
        max_length=32,
        progress=events.append,
    )
    assert report.folds == 2 and report.examples == len(texts)
    assert "fold 2 of 2" in events[-1].stage


def test_a_stratified_subsample_caps_each_class_and_prefers_distinct_texts():
    from engine.folds import stratified_subsample

    texts = ["same"] * 6 + [f"a{i}" for i in range(4)] + [f"b{i}" for i in range(3)]
    labels = ["a"] * 10 + ["b"] * 3
    rows = stratified_subsample(labels, 5, texts=texts, seed=1)
    assert rows == sorted(rows) and rows == stratified_subsample(labels, 5, texts=texts, seed=1)
    assert sum(labels[i] == "a" for i in rows) == 5 and sum(labels[i] == "b" for i in rows) == 3
    assert len({texts[i] for i in rows if labels[i] == "a"}) == 5  # "same" once, four others
    assert stratified_subsample(labels, 10) == list(range(13))
