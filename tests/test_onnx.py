"""ONNX export and the torch-free predictor, against the real embedded MiniLM."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import onnx
import pytest
from conftest import HELD_OUT

import engine.onnx
from engine.onnx import ExportError, export_onnx
from engine.onnx_predictor import (
    CONFIG_FILE,
    EXPORT_FIELDS,
    INT8_MODEL_FILE,
    MODEL_FILE,
    TOKENIZER_FILE,
    OnnxClassifier,
    OnnxFormatError,
)

REPO = Path(__file__).resolve().parents[1]
MIXED_LENGTHS = [
    "Yes",
    "The quarterback threw three touchdowns",
    "Stir in the cream and serve the soup warm, with bread on the side and a glass of wine",
    " ".join(["Bond yields dropped on Monday morning after the announcement"] * 20),  # truncated
    "",
]
PAIRS = [
    ("The bank reported higher quarterly profits", "Profits rose"),
    ("Knead the dough", " ".join(["and sprinkle it with flour"] * 20)),
]


@pytest.fixture(scope="module")
def export(fitted_classifier, tmp_path_factory):
    """One fp32 + int8 export of the shared classifier, with the progress it reported."""
    folder = tmp_path_factory.mktemp("onnx") / "export"
    events = []
    report = export_onnx(fitted_classifier, folder, int8=True, progress=events.append)
    return report, folder, events


@pytest.fixture(scope="module")
def fp32(export):
    return OnnxClassifier.load(export[1], precision="fp32", threads=2)


def test_export_writes_the_folder_and_reports_parity(export, fitted_classifier):
    report, folder, events = export
    assert report.folder == folder
    assert set(report.files) == {MODEL_FILE, INT8_MODEL_FILE, TOKENIZER_FILE, CONFIG_FILE}
    assert report.files == {p.name: p.stat().st_size for p in folder.iterdir()}
    assert report.max_prob_diff < 1e-4
    assert report.int8 and 0.5 <= report.int8_argmax_agreement <= 1.0
    assert events[-1].done == events[-1].total == 4
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temp left


def test_classifier_json_describes_the_export(export, fitted_classifier):
    config = json.loads((export[1] / CONFIG_FILE).read_text())
    assert config["labels"] == fitted_classifier.labels
    assert config["max_length"] == 64
    assert config["input_names"] == ["input_ids", "attention_mask", "token_type_ids"]
    assert config["backbone_fingerprint"] == fitted_classifier.backbone.fingerprint
    assert config["meta_fingerprint"] == fitted_classifier.meta.fingerprint
    assert set(config["versions"]) == {"torch", "transformers", "onnx"}
    assert config["default_precision"] == "int8" and config["format_version"] == 1


def test_graph_has_dynamic_batch_and_sequence_axes(export):
    graph = onnx.load(str(export[1] / MODEL_FILE), load_external_data=False).graph
    for tensor in graph.input:
        dims = [d.dim_param for d in tensor.type.tensor_type.shape.dim]
        assert dims == ["batch", "sequence"], tensor.name
    assert [o.name for o in graph.output] == ["probabilities"]


@pytest.mark.parametrize("batch_size", [len(MIXED_LENGTHS), 2])
def test_onnx_matches_torch_on_texts_of_different_lengths(fp32, fitted_classifier, batch_size):
    expected = fitted_classifier.predict_proba(MIXED_LENGTHS, batch_size=len(MIXED_LENGTHS))
    got = fp32.predict_proba(MIXED_LENGTHS, batch_size=batch_size)
    assert got.shape == (len(MIXED_LENGTHS), 3) and got.dtype == np.float32
    assert np.abs(got - expected).max() < 1e-4


def test_onnx_matches_torch_on_text_pairs(fp32, fitted_classifier):
    expected = fitted_classifier.predict_proba(PAIRS)
    assert np.abs(fp32.predict_proba(PAIRS) - expected).max() < 1e-4


def test_predictor_has_the_classifier_api(fp32, fitted_classifier):
    assert fp32.labels == fitted_classifier.labels
    assert fp32.predict("Season the steak with pepper before frying") == "cooking"
    texts = [text for text, _ in HELD_OUT]
    assert fp32.predict(texts) == fitted_classifier.predict(texts)
    assert fp32.predict_proba([]).shape == (0, 3)
    with pytest.raises(ValueError, match="mixes single texts and text pairs"):
        fp32.predict_proba(["a", ("b", "c")])
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        fp32.predict_proba(["a", 3])


def test_int8_is_the_default_and_mostly_agrees(export, fp32):
    int8 = OnnxClassifier.load(export[1], threads=1)
    assert int8.precision.value == "int8"
    texts = [text for text, _ in HELD_OUT]
    agreement = np.mean(np.array(int8.predict(texts)) == np.array(fp32.predict(texts)))
    assert agreement >= 0.75


def test_load_explains_what_is_missing(export, tmp_path):
    with pytest.raises(OnnxFormatError, match="not a folder"):
        OnnxClassifier.load(tmp_path / "nowhere")
    with pytest.raises(OnnxFormatError, match="classifier.json, tokenizer.json missing"):
        OnnxClassifier.load(tmp_path)
    for name in (CONFIG_FILE, TOKENIZER_FILE):
        shutil.copy(export[1] / name, tmp_path / name)
    with pytest.raises(OnnxFormatError, match="has no model.int8.onnx. Export again with --int8"):
        OnnxClassifier.load(tmp_path)
    with pytest.raises(ValueError, match="`threads` must be a positive integer"):
        OnnxClassifier.load(export[1], threads=0)


def test_classifier_json_holds_every_field_the_reader_checks(export):
    from test_onnx_config import BASE

    config = json.loads((export[1] / CONFIG_FILE).read_text())
    assert set(config) == set(BASE) == set(EXPORT_FIELDS)


def test_a_model_that_does_not_fit_its_classifier_json_is_refused(export, tmp_path):
    for name in (CONFIG_FILE, TOKENIZER_FILE, MODEL_FILE):
        shutil.copy(export[1] / name, tmp_path / name)
    config = json.loads((tmp_path / CONFIG_FILE).read_text())
    for change in ({"labels": ["a", "b"]}, {"input_names": ["input_ids", "attention_mask"]}):
        (tmp_path / CONFIG_FILE).write_text(json.dumps({**config, **change}))
        with pytest.raises(OnnxFormatError, match="does not fit its classifier.json"):
            OnnxClassifier.load(tmp_path, precision="fp32")


def test_failed_parity_raises_and_leaves_the_old_export(fitted_classifier, tmp_path, monkeypatch):
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / CONFIG_FILE).write_text("old")
    (folder / MODEL_FILE).write_text("old")
    monkeypatch.setattr(engine.onnx, "PARITY_TOLERANCE", 0.0)
    with pytest.raises(ExportError, match="differs from the torch classifier"):
        export_onnx(fitted_classifier, folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]
    assert (folder / MODEL_FILE).read_text() == "old"


def test_export_refuses_a_folder_that_is_not_an_export(fitted_classifier, tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="exists and is not an earlier ONNX export"):
        export_onnx(fitted_classifier, tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "keep me"


TORCH_FREE = """
import json, sys
sys.modules["torch"] = None  # any `import torch` now raises ImportError
sys.modules["transformers"] = None
from engine.onnx_predictor import OnnxClassifier
from engine.batch import classify_csv, load_predictor

predictor = OnnxClassifier.load(sys.argv[1], precision="fp32", threads=1)
texts = json.loads(sys.argv[2])
assert isinstance(load_predictor(sys.argv[1]), OnnxClassifier)
report = classify_csv(sys.argv[3], sys.argv[4], text_column="text", predictor=predictor)
print(json.dumps({
    "probabilities": predictor.predict_proba(texts).tolist(),
    "rows": report.rows,
    "torch_loaded": sys.modules["torch"] is not None,
}))
"""


def test_predictor_and_csv_work_without_torch_and_transformers(export, fitted_classifier, tmp_path):
    table = tmp_path / "in.csv"
    table.write_text("text\nGrill the salmon\nStocks rallied\n", encoding="utf-8")
    script = tmp_path / "torch_free.py"
    script.write_text(textwrap.dedent(TORCH_FREE))
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    completed = subprocess.run(
        [
            sys.executable,
            str(script),
            str(export[1]),
            json.dumps(MIXED_LENGTHS),
            str(table),
            str(tmp_path / "out.csv"),
        ],
        capture_output=True,
        text=True,
        env=environment,
        cwd=REPO,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["rows"] == 2 and not result["torch_loaded"]
    expected = fitted_classifier.predict_proba(MIXED_LENGTHS)
    assert np.abs(np.array(result["probabilities"]) - expected).max() < 1e-4


def test_cli_export_replaces_an_earlier_export(fitted_classifier, tmp_path, capsys):
    from engine.cli import main

    path = fitted_classifier.save(tmp_path / "clf.safetensors")
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / CONFIG_FILE).write_text("old")
    (folder / MODEL_FILE).write_text("old")
    assert main(["export", str(path), "--onnx", str(folder)]) == 0
    assert "Max probability difference ONNX vs torch" in capsys.readouterr().out
    predictor = OnnxClassifier.load(folder)
    assert predictor.precision.value == "fp32"
    assert predictor.predict("The striker scored twice") == "sports"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clf.safetensors", "export"]
    with pytest.raises(OnnxFormatError, match="no model.int8.onnx"):
        OnnxClassifier.load(folder, precision="int8")
