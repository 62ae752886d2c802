"""What a classifier was trained on, what changed since, and the words every screen shows."""

from __future__ import annotations

import json

import pytest

from engine.project import (
    Example,
    Project,
    ProjectError,
    ProjectSettings,
    project_from_json,
    project_to_json,
)
from engine.training_state import (
    NOT_TRAINED,
    TrainedOn,
    changes_since,
    model_state,
    plural,
    train_blocker,
)

TEXTS = ["goal", "match", "whisk", "bake"]
LABELS = ["sports", "sports", "cooking", "cooking"]
SETTINGS = ProjectSettings()


def trained() -> TrainedOn:
    return TrainedOn.of(TEXTS, LABELS, ["sports", "cooking"], SETTINGS)


def test_plurals():
    assert [plural(1, "example"), plural(9, "example"), plural(1, "class"), plural(2, "class")] == [
        "1 example",
        "9 examples",
        "1 class",
        "2 classes",
    ]
    assert plural(1_000, "row") == "1,000 rows"


def test_the_same_examples_in_another_order_are_current():
    state = model_state(True, trained(), TEXTS[::-1], LABELS[::-1], SETTINGS)
    assert state.current and state.summary == "Trained on 4 examples in 2 classes."


def test_additions_removals_edits_and_settings_are_counted():
    changes = changes_since(
        trained(),
        ["goal", "match", "whisk", "stir", "flu", "cold"],  # bake edited to stir, 2 new
        ["sports", "sports", "cooking", "cooking", "health", "health"],
        SETTINGS,
    )
    assert (changes.added, changes.removed, changes.classes_added) == (3, 1, ["health"])
    assert changes.describe() == "3 examples and 1 class added, 1 example removed"
    relabelled = changes_since(trained(), TEXTS, ["sports"] * 4, SETTINGS)
    assert relabelled.describe() == "2 examples added, 2 examples and 1 class removed"
    other = changes_since(trained(), TEXTS, LABELS, ProjectSettings(max_length=64))
    assert other.settings_changed and other.describe() == "settings changed"


def test_the_summary_tells_what_to_do():
    assert model_state(False, None, TEXTS, LABELS, SETTINGS).summary == NOT_TRAINED
    state = model_state(True, trained(), TEXTS + ["flu"], LABELS + ["health"], SETTINGS)
    assert state.out_of_date
    assert state.summary == (
        "Trained on 4 examples in 2 classes; 1 example and 1 class added since - train again."
    )
    assert model_state(True, None, TEXTS, LABELS, SETTINGS).out_of_date


def test_train_blocker_names_the_reason():
    assert train_blocker([], []).startswith("Add examples first")
    assert train_blocker([], ["sports"]).startswith("Add examples first")
    assert "second class" in train_blocker(["a", "a"], ["a"])
    assert train_blocker(["a", "b"], ["a", "b", "c"]) == (
        "The class 'c' has no examples, and its name does not say what it is: add an example, "
        "or rename or delete the class."
    )
    assert train_blocker([], ["LABEL_1", "2", "sports"]).startswith(
        "2 classes have no examples, and their names do not say what they are ('LABEL_1', '2')"
    )
    assert train_blocker(["a", "b"], ["a", "b"]) is None


def test_classes_named_for_what_they_are_train_without_examples():
    assert train_blocker([], ["sports", "cooking"]) is None
    assert train_blocker(["a", "a"], ["a", "billing"]) is None
    zero_shot = TrainedOn.of([], [], ["sports", "cooking"], SETTINGS)
    state = model_state(True, zero_shot, [], [], SETTINGS)
    assert state.current
    assert state.summary == "Trained from the names of 2 classes alone (no examples yet)."
    some = TrainedOn.of(["goal"], ["sports"], ["sports", "cooking"], SETTINGS)
    classes = ["sports", "cooking"]
    state = model_state(True, some, ["goal", "whisk"], classes, SETTINGS, classes)
    assert state.summary == (
        "Trained on 1 example in 2 classes (1 class from the name alone); "
        "1 example added since - train again."
    )
    state = model_state(True, some, ["goal"], ["sports"], SETTINGS, [*classes, "finance"])
    assert state.summary.endswith("; 1 class added since - train again.")


def test_the_record_travels_with_the_project():
    project = Project(
        ["sports", "cooking"],
        [Example(t, label) for t, label in zip(TEXTS, LABELS)],
        SETTINGS,
        classifier_file=b"classifier bytes",
        trained_on=trained(),
    )
    assert project_from_json(project_to_json(project)).trained_on == trained()


@pytest.mark.parametrize(
    "trained_on, message",
    [
        ({"examples": "goal", "classes": []}, "pairs"),
        ({"examples": [["goal", 3]], "classes": []}, "pairs"),
        ({"examples": [], "classes": [1]}, "class names"),
        ({"examples": [], "classes": [], "settings": []}, "an object"),
        ("yes", "must be an object"),
    ],
)
def test_a_damaged_record_is_a_clear_error(trained_on, message):
    project = Project(["a"], [], SETTINGS, classifier_file=b"x", trained_on=trained())
    document = json.loads(project_to_json(project))
    document["classifier"]["trained_on"] = trained_on
    with pytest.raises(ProjectError, match=message):
        project_from_json(json.dumps(document))
