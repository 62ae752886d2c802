"""An honest "unsure": a threshold chosen on the classifier's own cross-validation, saved with
it, and applied the same way by the torch classifier, batch files and the ONNX predictor."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import HELD_OUT

from engine.batch import UNSURE_COLUMN, classify_csv
from engine.classifier import Classifier
from engine.evaluation import QualityReport, choose_unsure_below, cross_validate
from engine.formats import FormatError

TEXTS = [text for text, _ in HELD_OUT] + ["asdf qwerty", "zxcv", "The"]


def test_the_threshold_is_the_lowest_confidence_that_was_right_often_enough():
    confidence = [0.99, 0.97, 0.95, 0.90, 0.80, 0.70, 0.60]
    correct = [True, True, True, True, True, False, False]
    assert choose_unsure_below(confidence, correct, 3) == 0.8  # 5 of 5 right down to 0.80
    assert choose_unsure_below([0.99, 0.98], [True, True], 2) == 0.98
    assert choose_unsure_below([0.55, 0.52], [True, True], 2) == 0.75  # never under the floor
    assert choose_unsure_below([0.9, 0.8], [False, False], 4) == 0.62  # never right: the floor


def test_cross_validation_records_each_prediction_and_a_threshold(backbone, topic_examples):
    from engine.locations import default_meta_checkpoint

    texts, labels = topic_examples
    report = cross_validate(
        texts, labels, backbone=backbone, meta=default_meta_checkpoint(backbone), folds=2,
        steps=3, max_length=32,
    )  # fmt: skip
    assert len(report.predicted) == len(report.confidence) == len(texts)
    right = sum(p == t for p, t in zip(report.predicted, labels))
    assert right / len(texts) == pytest.approx(report.accuracy)
    assert 0.5 <= report.unsure_below <= 0.99
    assert QualityReport.from_dict(report.to_dict()) == report
    old = {k: v for k, v in report.to_dict().items() if k not in ("predicted", "confidence")}
    assert QualityReport.from_dict(old).unsure_below == report.unsure_below


def test_torch_and_onnx_mark_the_same_rows_unsure(fitted_classifier, tmp_path):
    from engine.onnx import export_onnx
    from engine.onnx_predictor import OnnxClassifier

    classifier = Classifier.load(fitted_classifier.save(tmp_path / "c.safetensors"))
    confidence = classifier.predict_proba(TEXTS).max(1)
    classifier.unsure_below = float(round(sorted(confidence)[len(TEXTS) // 2], 2))
    saved = Classifier.load(classifier.save(tmp_path / "unsure.safetensors"))
    assert saved.unsure_below == classifier.unsure_below
    assert Classifier.load(tmp_path / "c.safetensors").unsure_below == 0.0
    export_onnx(saved, tmp_path / "onnx")
    onnx = OnnxClassifier.load(tmp_path / "onnx", precision="fp32")
    assert onnx.unsure_below == saved.unsure_below

    source = tmp_path / "in.csv"
    pd.DataFrame({"text": TEXTS}).to_csv(source, index=False)
    marks = {}
    for name, predictor in (("torch", saved), ("onnx", onnx)):
        classify_csv(source, tmp_path / f"{name}.csv", text_column="text", predictor=predictor)
        out = pd.read_csv(tmp_path / f"{name}.csv", keep_default_na=False)
        marks[name] = list(out[UNSURE_COLUMN])
        expected = ["yes" if c < saved.unsure_below else "" for c in out["confidence"]]
        assert marks[name] == expected
    assert marks["torch"] == marks["onnx"] and "yes" in marks["torch"] and "" in marks["torch"]

    plain = tmp_path / "plain.csv"
    classify_csv(source, plain, text_column="text", predictor=fitted_classifier)
    assert UNSURE_COLUMN not in pd.read_csv(plain).columns  # no threshold, no column


def test_a_bad_threshold_in_a_file_is_a_clear_error(tmp_path, fitted_classifier):
    import json

    from safetensors import safe_open
    from safetensors.torch import save_file

    path = fitted_classifier.save(tmp_path / "c.safetensors")
    with safe_open(path, framework="pt") as handle:
        metadata, tensors = handle.metadata(), {k: handle.get_tensor(k) for k in handle.keys()}
    key = next(iter(metadata))
    description = json.loads(metadata[key])
    description["unsure_below"] = 1.5
    save_file(tensors, tmp_path / "bad.safetensors", metadata={key: json.dumps(description)})
    with pytest.raises(FormatError, match="unsure_below"):
        Classifier.load(tmp_path / "bad.safetensors")
