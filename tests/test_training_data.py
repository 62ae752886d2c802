"""Examples checked before any model loads: bad labels and texts, duplicates kept together."""

from __future__ import annotations

import pytest

from engine.folds import stratified_folds
from engine.training_data import (
    check_training_data,
    describe_duplicates,
    duplicate_groups,
    duplicate_key,
)


@pytest.mark.parametrize(
    ("texts", "labels", "message"),
    [
        ("abcd", "ssff", r"must be lists .* not a single string"),
        (["a b", "c d"], ["x", None], r"Example\(s\) \[1\] have no label"),
        (["a b", "c d"], ["x", float("nan")], r"Example\(s\) \[1\] have no label"),
        (["a b", "c d"], ["x", "  "], r"Example\(s\) \[1\] have no label"),
        (["a b", None], ["x", "y"], r"Example\(s\) \[1\] are not text \(NoneType\)"),
        (["a b", 42], ["x", "y"], r"Example\(s\) \[1\] are not text \(int\)"),
        (["a b", ("p", 3)], ["x", "y"], r"are not text \(tuple\)"),
        (["a b", ""], ["x", "y"], r"Example\(s\) \[1\] have empty text"),
        (["a b", "c d"], ["x", "x"], r"Only one class \('x'\)"),
        ([], [], "No examples given"),
    ],
)
def test_bad_examples_are_refused_with_the_row(texts, labels, message):
    with pytest.raises(ValueError, match=message):
        check_training_data(texts, labels, None)


def test_pandas_missing_values_are_missing_labels():
    pd = pytest.importorskip("pandas")
    with pytest.raises(ValueError, match=r"\[1\] have no label"):
        check_training_data(["a b", "c d"], pd.Series(["x", pd.NA], dtype="string"), None)


def test_good_examples_give_their_classes():
    assert check_training_data(["a", "b", "c"], ["y", "x", "y"], None) == ["x", "y"]
    assert check_training_data([("p", "h"), ("p", "q")], [1, 0], ["1", "0"]) == ["1", "0"]


def test_copies_differ_only_in_case_spacing_and_punctuation():
    assert duplicate_key("Great film!") == duplicate_key("great  film")
    assert duplicate_key("Great film") != duplicate_key("Great films")
    assert duplicate_groups(["a b", "c", "A-B", "c", "d"]) == [[0, 2], [1, 3]]
    assert "2 text(s) occur more than once (4 examples in all" in describe_duplicates(
        ["a b", "c", "A-B", "c", "d"]
    )
    assert describe_duplicates(["a", "b"]) is None


def test_copies_of_a_text_never_straddle_two_folds():
    texts = [f"text {i}" for i in range(16)] * 3  # 16 rows, each repeated three times
    labels = ["a" if i % 2 else "b" for i in range(16)] * 3
    folds = stratified_folds(labels, 4, texts=texts)
    fold_of = {index: number for number, fold in enumerate(folds) for index in fold}
    for copies in duplicate_groups(texts):
        assert len({fold_of[i] for i in copies}) == 1
    assert sorted(i for fold in folds for i in fold) == list(range(48))
    # Without copies, the split is what it was without texts.
    unique = [f"text {i}" for i in range(16)]
    assert stratified_folds(labels[:16], 4, texts=unique) == stratified_folds(labels[:16], 4)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("billing", "billing"),
        ("non_irony", "non irony"),
        ("very positive", "very positive"),
        ("3", None),
        ("LABEL_3", None),
        ("class 2", None),
        ("c1", None),
        ("B", None),
        ("  ", None),
    ],
)
def test_class_names_that_carry_no_meaning_are_not_used(name, text):
    from engine.training_data import name_text

    assert name_text(name) == text
