"""Batch classification of tables: streaming, encodings, empty cells, cancel, the CLI."""

import csv
import random
import time

import numpy as np
import pandas as pd
import pytest
from conftest import TOPICS

from engine.batch import (
    FIRST_SLICE,
    MAX_SLICE,
    SLICE_SECONDS,
    BatchReport,
    SliceSize,
    classify_csv,
    estimate_rows,
    load_predictor,
)
from engine.onnx_predictor import OnnxClassifier
from engine.progress import Cancelled
from engine.tables import TableError, TableFormat, read_table_chunks

PREDICTION_COLUMNS = [
    "predicted_label",
    "confidence",
    "prob_cooking",
    "prob_finance",
    "prob_sports",
]


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory):
    """A real but tiny classifier (a 1-layer, 32-wide BERT with MiniLM's tokenizer), exported.

    It runs the same code as the MiniLM one, about 20x faster: the 200k-row test needs that.
    """
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from engine.backbone import default_backbone_dir, load_backbone
    from engine.classifier import Classifier
    from engine.onnx import export_onnx

    root = tmp_path_factory.mktemp("tiny")
    torch.manual_seed(0)
    config = BertConfig(
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(root / "backbone")
    AutoTokenizer.from_pretrained(default_backbone_dir()).save_pretrained(root / "backbone")
    backbone = load_backbone(str(root / "backbone"), device="cpu")
    texts = [text for texts in TOPICS.values() for text in texts]
    labels = [label for label, texts in TOPICS.items() for _ in texts]
    classifier = Classifier(backbone, max_length=32).fit(texts, labels)
    export_onnx(classifier, root / "export")
    return root / "export"


@pytest.fixture(scope="module")
def onnx_predictor(tiny_onnx):
    return OnnxClassifier.load(tiny_onnx, threads=2)


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def test_quoted_commas_newlines_bom_and_empty_cells(tmp_path, fitted_classifier):
    source = write(
        tmp_path / "in.csv",
        "id,text,note\n"
        '1,"Bake the bread, then slice it",007\n'
        "2,,NA\n"
        '3,"Shares fell\nsharply, again",""\n'
        "4,   ,x\n"
        "5,The striker scored twice,\n",
        encoding="utf-8-sig",
    )
    report = classify_csv(
        source, tmp_path / "out.csv", text_column="text", predictor=fitted_classifier, chunk_rows=2
    )
    assert isinstance(report, BatchReport) and (report.rows, report.empty_rows) == (5, 2)
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert list(out.columns) == ["id", "text", "note"] + PREDICTION_COLUMNS
    assert out["id"].tolist() == ["1", "2", "3", "4", "5"]  # order kept across chunks
    assert out["note"].tolist() == ["007", "NA", "", "x", ""]  # values kept as written
    assert out["text"][2] == "Shares fell\nsharply, again"
    assert out["predicted_label"].tolist() == ["cooking", "", "finance", "", "sports"]
    assert (out.loc[[1, 3], PREDICTION_COLUMNS] == "").all().all()
    probabilities = out.loc[[0, 2, 4], PREDICTION_COLUMNS[2:]].astype(float).to_numpy()
    assert np.allclose(probabilities.sum(1), 1.0, atol=1e-4)
    confidence = out.loc[[0, 2, 4], "confidence"].astype(float).to_numpy()
    assert np.allclose(confidence, probabilities.max(1), atol=1e-6)


def test_latin1_file_is_detected_and_a_wrong_encoding_is_a_clear_error(tmp_path, onnx_predictor):
    source = write(tmp_path / "in.csv", "text\nCrème brûlée au café\nA déjà vu\n", "latin-1")
    output = tmp_path / "out.csv"
    utf8 = TableFormat(encoding="utf-8")
    with pytest.raises(TableError, match=r"not valid UTF-8 text.*--encoding"):
        classify_csv(
            source, output, text_column="text", predictor=onnx_predictor, table_format=utf8
        )
    assert not output.exists()
    classify_csv(source, output, text_column="text", predictor=onnx_predictor)
    out = pd.read_csv(output, encoding="utf-8")  # written back as UTF-8
    assert out["text"].tolist() == ["Crème brûlée au café", "A déjà vu"]
    with pytest.raises(TableError, match="Unknown text encoding 'klingon'"):
        TableFormat(encoding="klingon")


def test_semicolon_sheet_and_delimiter_inputs(tmp_path, onnx_predictor):
    source = write(tmp_path / "in.csv", "id;text\n1;Grill the salmon, then rest it\n2;Rates rose\n")
    report = classify_csv(
        source, tmp_path / "out.csv", text_column="text", predictor=onnx_predictor
    )
    out = pd.read_csv(tmp_path / "out.csv", dtype=str)
    assert report.rows == 2 and out["text"][0] == "Grill the salmon, then rest it"
    comma = TableFormat(delimiter=",")
    with pytest.raises(TableError, match=r"columns found: 'id;text'\. It was read as one column"):
        classify_csv(
            source,
            tmp_path / "o.csv",
            text_column="text",
            predictor=onnx_predictor,
            table_format=comma,
        )
    with pd.ExcelWriter(tmp_path / "in.xlsx") as book:
        pd.DataFrame({"note": ["x"]}).to_excel(book, sheet_name="About", index=False)
        pd.DataFrame({"text": ["Bake a cake"] * 3}).to_excel(book, sheet_name="Data", index=False)
    report = classify_csv(
        tmp_path / "in.xlsx",
        tmp_path / "out.csv",
        text_column="text",
        predictor=onnx_predictor,
        table_format=TableFormat(sheet="Data"),
    )
    assert report.rows == 3


class SlowPredictor:
    """A real predictor held back to `seconds_per_row`: the embedded MiniLM's speed on a busy
    laptop CPU, without the minutes that MiniLM itself takes on 5,000 rows here."""

    def __init__(self, predictor, seconds_per_row: float):
        self.predictor, self.seconds_per_row = predictor, seconds_per_row
        self.labels = predictor.labels

    def predict_proba(self, texts, *, batch_size=32):
        time.sleep(self.seconds_per_row * len(texts))
        return self.predictor.predict_proba(texts, batch_size=batch_size)


def test_progress_moves_every_second_on_a_big_file(tmp_path, onnx_predictor):
    """At 400 rows/s a fixed 1,024-row slice would leave 2.5 s without progress: the slices
    adapt to the measured speed, so rows done rise at least every second."""
    rng = random.Random(0)
    words = [word for texts in TOPICS.values() for text in texts for word in text.split()]
    lines = [" ".join(rng.sample(words, rng.randint(3, 12))) for _ in range(5_000)]
    source = write(tmp_path / "big.csv", "text\n" + "\n".join(lines) + "\n")
    events, times = [], []

    def record(event):
        times.append(time.perf_counter())
        events.append(event)

    started = time.perf_counter()
    classify_csv(
        source,
        tmp_path / "out.csv",
        text_column="text",
        predictor=SlowPredictor(onnx_predictor, 1 / 400),
        progress=record,
    )
    assert (events[0].stage, events[0].done, events[0].total) == ("Reading the file", 0, 5_000)
    done = [event.done for event in events[1:]]
    assert done == sorted(done) and done[-1] == 5_000 and len(set(done)) > 10
    gaps = np.diff([started, *times])
    assert gaps.max() < 1.0, f"{gaps.max():.2f} s without progress (event {gaps.argmax()})"


def test_slices_follow_the_measured_speed():
    slices = SliceSize()
    assert slices.rows == FIRST_SLICE
    slices.update(slices.rows, 100.0)  # very slow: shrink at once, never below one row
    assert slices.rows == 1
    for _ in range(20):  # very fast: grow, at most twofold per call, up to the cap
        before = slices.rows
        slices.update(slices.rows, 1e-6)
        assert slices.rows == min(2 * before, MAX_SLICE)
    assert slices.rows == MAX_SLICE
    slices.update(1000, 1.0)  # 1,000 rows/s: a quarter second's worth
    assert slices.rows == int(1000 * SLICE_SECONDS)


def test_missing_column_names_the_columns_found(tmp_path, onnx_predictor):
    source = write(tmp_path / "in.csv", "id,body\n1,hello\n")
    with pytest.raises(TableError, match=r"no column 'text'; columns found: 'id', 'body'"):
        classify_csv(source, tmp_path / "out.csv", text_column="text", predictor=onnx_predictor)
    assert not (tmp_path / "out.csv").exists()


def test_refuses_bad_output_paths_and_options(tmp_path, onnx_predictor):
    source = write(tmp_path / "in.csv", "text\nhello\n")
    with pytest.raises(TableError, match=r"Use e.g. `out.csv`"):
        classify_csv(source, tmp_path / "out.xlsx", text_column="text", predictor=onnx_predictor)
    with pytest.raises(TableError, match="is the input file"):
        classify_csv(source, source, text_column="text", predictor=onnx_predictor)
    with pytest.raises(ValueError, match="`batch_size` must be a positive integer, got 0"):
        classify_csv(
            source, tmp_path / "out.csv", text_column="text", predictor=onnx_predictor, batch_size=0
        )


def test_tsv_and_xlsx_inputs(tmp_path, onnx_predictor):
    frame = pd.DataFrame({"text": ["Grill the salmon", "", "Rates rose"], "n": ["1", "2", "3"]})
    frame.to_csv(tmp_path / "in.tsv", sep="\t", index=False)
    frame.to_excel(tmp_path / "in.xlsx", index=False)
    for name in ("in.tsv", "in.xlsx"):
        report = classify_csv(
            tmp_path / name,
            tmp_path / "out.tsv",
            text_column="text",
            predictor=onnx_predictor,
            chunk_rows=2,
        )
        out = pd.read_csv(tmp_path / "out.tsv", sep="\t", dtype=str, keep_default_na=False)
        assert (report.rows, report.empty_rows) == (3, 1)
        assert out["n"].tolist() == ["1", "2", "3"] and out["predicted_label"][1] == ""


def test_header_only_file_gives_header_only_output(tmp_path, onnx_predictor):
    source = write(tmp_path / "in.csv", "text,id\n")
    report = classify_csv(
        source, tmp_path / "out.csv", text_column="text", predictor=onnx_predictor
    )
    assert report.rows == 0
    assert (tmp_path / "out.csv").read_text().strip() == ",".join(
        ["text", "id"]
        + ["predicted_label", "confidence"]
        + [f"prob_{label}" for label in onnx_predictor.labels]
    )


def test_cancel_leaves_the_output_path_untouched(tmp_path, onnx_predictor):
    source = write(tmp_path / "in.csv", "text\n" + "Bake a cake\n" * 50)
    output = write(tmp_path / "out.csv", "previous results\n")
    events = []
    with pytest.raises(Cancelled):
        classify_csv(
            source,
            output,
            text_column="text",
            predictor=onnx_predictor,
            chunk_rows=10,
            progress=events.append,
            should_stop=lambda: bool(events) and events[-1].done >= 20,
        )
    assert output.read_text() == "previous results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]


def test_progress_counts_rows_up_to_the_total(tmp_path, onnx_predictor):
    source = write(tmp_path / "in.csv", "text\n" + '"two\nlines"\n' * 30)
    assert estimate_rows(source) == 60  # quoted newlines make it an overestimate
    events = []
    classify_csv(
        source,
        tmp_path / "out.csv",
        text_column="text",
        predictor=onnx_predictor,
        chunk_rows=7,
        progress=events.append,
    )
    done = [event.done for event in events]
    assert done == sorted(done) and events[-1].done == events[-1].total == 30
    assert all(event.done <= event.total for event in events)


def test_existing_prediction_columns_are_replaced(tmp_path, onnx_predictor):
    source = write(tmp_path / "in.csv", "text,predicted_label,keep\nRates rose,old,k\n")
    classify_csv(source, tmp_path / "out.csv", text_column="text", predictor=onnx_predictor)
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out.columns)[:2] == ["text", "keep"] and "old" not in out.values


def test_load_predictor_explains_what_it_expects(tmp_path, tiny_onnx):
    assert isinstance(load_predictor(tiny_onnx, threads=1), OnnxClassifier)
    with pytest.raises(ValueError, match="neither a classifier file"):
        load_predictor(write(tmp_path / "model.bin", "x"))


def test_chunks_stream_in_order(tmp_path):
    source = write(tmp_path / "in.csv", "a\n" + "".join(f"{i}\n" for i in range(25)))
    chunks = list(read_table_chunks(source, chunk_rows=10))
    assert [len(c) for c in chunks] == [10, 10, 5]
    assert pd.concat(chunks)["a"].tolist() == [str(i) for i in range(25)]


@pytest.mark.slow
def test_200k_rows_stream_through(tmp_path, onnx_predictor):
    rng = random.Random(0)
    words = [word for texts in TOPICS.values() for text in texts for word in text.split()]
    source = tmp_path / "big.csv"
    with open(source, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        for i in range(200_000):
            text = "" if i % 1000 == 7 else " ".join(rng.sample(words, rng.randint(1, 6)))
            writer.writerow([i, text])
    report = classify_csv(
        source, tmp_path / "out.csv", text_column="text", predictor=onnx_predictor, batch_size=64
    )
    assert (report.rows, report.empty_rows) == (200_000, 200)
    ids, labels = [], set()
    for chunk in pd.read_csv(tmp_path / "out.csv", chunksize=50_000, keep_default_na=False):
        ids.extend(chunk["id"].tolist())
        labels.update(chunk["predicted_label"])
    assert ids == list(range(200_000))
    assert labels <= {"", *onnx_predictor.labels}


def test_cli_classify_csv_with_both_model_kinds(tmp_path, fitted_classifier, tiny_onnx, capsys):
    from engine.cli import main

    model_file = fitted_classifier.save(tmp_path / "clf.safetensors")
    source = write(tmp_path / "in.csv", "body\nThe striker scored\nWhisk the eggs\n", "latin-1")
    output = tmp_path / "out.csv"
    for model, threads in ((model_file, []), (tiny_onnx, ["--threads", "1"])):
        argv = [
            "classify-csv",
            str(model),
            str(source),
            "-o",
            str(output),
            "--text-col",
            "body",
            "--encoding",
            "latin-1",
            *threads,
        ]  # --threads would set torch's globally
        assert main(argv) == 0
        assert "Classified 2 rows" in capsys.readouterr().out
        assert pd.read_csv(output)["predicted_label"].notna().all()
    assert main(["classify-csv", str(tiny_onnx), str(source), "-o", str(output)]) == 2
    assert "no column 'text'; columns found: 'body'" in capsys.readouterr().err
