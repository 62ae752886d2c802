import json

import pandas as pd
import pytest
from conftest import TOPICS

from engine.cli import EXIT_USER_ERROR, main


@pytest.fixture(scope="module")
def trained_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    rows = [{"sentence": text, "topic": label} for label, texts in TOPICS.items() for text in texts]
    pd.DataFrame(rows).to_csv(folder / "examples.csv", index=False)
    output = folder / "topics.safetensors"
    code = main(
        [
            "train",
            str(folder / "examples.csv"),
            "--text-col",
            "sentence",
            "--label-col",
            "topic",
            "-o",
            str(output),
            "--max-length",
            "48",
            "--device",
            "cpu",
        ]
    )
    assert code == 0
    return output


def test_train_writes_a_classifier(trained_file, capsys):
    assert trained_file.is_file()


def test_predict_prints_label_and_confidence(trained_file, capsys):
    assert main(["predict", str(trained_file), "Knead the dough", "The goalkeeper saved it"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["cooking", "sports"]
    assert main(["predict", "--json", str(trained_file), "Stocks rallied today"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["label"] == "finance" and set(record["scores"]) == set(TOPICS)


def test_info_describes_the_file(trained_file, capsys):
    assert main(["info", str(trained_file)]) == 0
    out = capsys.readouterr().out
    assert "cooking, finance, sports" in out
    assert "all-MiniLM-L6-v2" in out and "Format version    1" in out


def test_info_says_when_meta_adapters_are_untrained(tmp_path, backbone, capsys):
    from engine.classifier import Classifier
    from engine.formats import initial_meta_checkpoint

    classifier = Classifier(backbone, initial_meta_checkpoint(backbone), max_length=16)
    path = classifier.fit(["goal", "bake"], ["s", "c"]).save(tmp_path / "u.safetensors")
    assert main(["info", str(path)]) == 0
    assert "UNTRAINED" in capsys.readouterr().out


def test_errors_exit_2_with_a_message(tmp_path, capsys):
    table = tmp_path / "t.csv"
    table.write_text("words,label\nhello,a\n")
    assert main(["train", str(table), "-o", str(tmp_path / "x.safetensors")]) == EXIT_USER_ERROR
    assert "has no column 'text'; columns found: 'words', 'label'" in capsys.readouterr().err
    assert main(["info", str(table)]) == EXIT_USER_ERROR
    assert "corrupt or truncated" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "absent.safetensors"), "x"]) == EXIT_USER_ERROR
    assert "No classifier file" in capsys.readouterr().err
