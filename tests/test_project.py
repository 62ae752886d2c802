"""The project document: round trips, atomic saves, and messages for damaged files."""

import json

import pytest
from test_app_support import one_torch_thread  # noqa: F401 - fixture

from engine.evaluation import QualityReport
from engine.project import (
    Example,
    Project,
    ProjectError,
    ProjectSettings,
    load_project,
    project_from_json,
    project_to_json,
    save_project,
)


def sample_project(classifier_file: bytes | None = b"\x00safetensors\xffbytes") -> Project:
    return Project(
        classes=["sports", "cooking"],
        examples=[
            Example("The striker scored", "sports"),
            Example("Whisk the eggs", "cooking"),
            Example("unsorted line", ""),
        ],
        settings=ProjectSettings(meta_checkpoint="/some/where", max_length=64),
        classifier_file=classifier_file,
        quality=QualityReport(
            ["sports", "cooking"], 2, 2, 0.5, {"sports": 1.0, "cooking": 0.0}, [[1, 0], [1, 0]], 1.5
        ),
    )


def test_round_trip_keeps_everything(tmp_path):
    project = sample_project()
    path = save_project(project, tmp_path / "p.fewshot.json")
    loaded = load_project(path)
    assert loaded == project
    assert loaded.counts() == {"sports": 1, "cooking": 1}


@pytest.mark.usefixtures("one_torch_thread")
def test_classifier_file_bytes_round_trip(tmp_path, backbone):
    from engine.classifier import Classifier

    texts = ["The striker scored", "The team won", "Whisk the eggs", "Bake the cake"]
    fitted = Classifier(backbone, max_length=16).fit(texts, ["sports"] * 2 + ["cooking"] * 2)
    file_bytes = fitted.save(tmp_path / "c.safetensors").read_bytes()
    path = save_project(sample_project(file_bytes), tmp_path / "p.fewshot.json")
    (tmp_path / "again.safetensors").write_bytes(load_project(path).classifier_file)
    again = Classifier.load(tmp_path / "again.safetensors", backbone=backbone, meta=fitted.meta)
    assert again.predict_proba("Bake the bread") == pytest.approx(
        fitted.predict_proba("Bake the bread")
    )


def test_save_is_atomic_when_the_project_is_invalid(tmp_path):
    path = save_project(sample_project(), tmp_path / "p.fewshot.json")
    before = path.read_text()
    broken = sample_project()
    broken.examples.append(Example("x", "no-such-class"))
    with pytest.raises(ProjectError, match="not in the class list"):
        save_project(broken, path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["p.fewshot.json"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("{not json", "not valid JSON"),
        ("[]", "not a Fewshot Studio project"),
        ('{"format": "something-else"}', "not a Fewshot Studio project"),
        ('{"format": "fewshot-studio-project", "format_version": 99}', "update Fewshot Studio"),
        (
            '{"format": "fewshot-studio-project", "format_version": 1, "classes": "a"}',
            '"classes" must be a list',
        ),
        (
            '{"format": "fewshot-studio-project", "format_version": 1,'
            ' "examples": [{"label": "a"}]}',
            'needs a "text"',
        ),
        (
            '{"format": "fewshot-studio-project", "format_version": 1, "classes": ["a", "a"]}',
            "listed twice",
        ),
        (
            '{"format": "fewshot-studio-project", "format_version": 1, "classes": [""]}',
            "empty name",
        ),
        (
            '{"format": "fewshot-studio-project", "format_version": 1, "classes": ["a"],'
            ' "classifier": {"file": "@@@", "sha256": "0"}}',
            "not valid base64",
        ),
    ],
)
def test_damaged_documents_are_explained(text, message):
    with pytest.raises(ProjectError, match=message):
        project_from_json(text, source="broken.fewshot.json")


def test_a_changed_classifier_fails_its_checksum():
    document = json.loads(project_to_json(sample_project()))
    document["classifier"]["file"] = "QUJD"  # valid base64, other bytes
    with pytest.raises(ProjectError, match="checksum"):
        project_from_json(json.dumps(document))


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(ProjectError, match="No project file"):
        load_project(tmp_path / "none.fewshot.json")
    (tmp_path / "bin.fewshot.json").write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(ProjectError, match="not UTF-8"):
        load_project(tmp_path / "bin.fewshot.json")


def test_shipped_example_project_is_valid():
    from importlib import resources

    folder = resources.files("resources") / "examples"
    paths = [p for p in folder.iterdir() if p.name.endswith(".fewshot.json")]
    assert paths, "resources/examples holds no example project"
    for path in paths:
        project = load_project(path)
        assert len(project.classes) >= 3 and all(n >= 3 for n in project.counts().values())


@pytest.mark.parametrize(
    "clipboard, expected",
    [
        ("one\ntwo\n\n", [("one", "pick"), ("two", "pick")]),
        ("a text\tsports\nplain line\n", [("a text", "sports"), ("plain line", "pick")]),
        ("Text\tLabel\nwith\ttab\tcooking\n", [("with\ttab", "cooking")]),
        ("  spaced  \t  finance \r\nno label\t\n", [("spaced", "finance"), ("no label", "pick")]),
        ("\n\n", []),
    ],
)
def test_parse_pasted_examples(clipboard, expected):
    from engine.project import parse_pasted_examples

    assert parse_pasted_examples(clipboard, "pick") == [Example(t, lbl) for t, lbl in expected]
