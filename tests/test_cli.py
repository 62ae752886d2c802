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


def test_data_is_checked_before_the_model_loads(tmp_path, capsys, monkeypatch):
    def no_model(*args, **kwargs):
        raise AssertionError("the backbone was loaded before the data was checked")

    monkeypatch.setattr("engine.backbone.load_backbone", no_model)
    table = tmp_path / "t.csv"
    table.write_text("text,label\nhello there,a\ngood morning,\nnice day,a\n,b\n")
    assert main(["train", str(table), "-o", str(tmp_path / "x.safetensors")]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert "skipping 1 row(s) with an empty 'text' cell (rows 5)" in err
    assert "skipping 1 row(s) with an empty 'label' cell (rows 3)" in err
    assert "Only one class ('a') has examples" in err  # never a class named ""


def test_repeated_rows_are_reported(tmp_path, capsys, monkeypatch):
    class ModelLoading(Exception):
        pass

    def stop(*args, **kwargs):
        raise ModelLoading

    monkeypatch.setattr("engine.backbone.load_backbone", stop)
    rows = [f"{text},{label}" for label, texts in TOPICS.items() for text in texts[:2]] * 3
    (tmp_path / "t.csv").write_text("text,label\n" + "\n".join(rows) + "\n")
    with pytest.raises(ModelLoading):
        main(["train", str(tmp_path / "t.csv"), "-o", str(tmp_path / "x.safetensors")])
    err = capsys.readouterr().err
    assert "note: 6 text(s) occur more than once (18 examples in all" in err
    assert "at rows [2, 8, 14])" in err  # the file's own row numbers, header as row 1


@pytest.fixture
def small_disk(tmp_path):
    """A real 64 KiB tmpfs (as root, like CI), else a plain folder the test cannot fill."""
    import subprocess

    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)])
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def read_only(folder):
    import subprocess

    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)


def test_a_read_only_folder_is_a_message_and_keeps_the_old_file(trained_file, small_disk, capsys):
    table = small_disk.parent / "in.csv"
    table.write_text("text\nThe striker scored\n")
    (small_disk / "out.csv").write_text("previous results\n")
    read_only(small_disk)
    code = main(["classify-csv", str(trained_file), str(table), "-o", str(small_disk / "out.csv")])
    assert code == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert "Read-only file system (choose a folder you can write to); nothing was changed" in err
    assert (small_disk / "out.csv").read_text() == "previous results\n"
    assert sorted(p.name for p in small_disk.iterdir()) == ["out.csv"]  # no temp file left


def test_a_full_disk_is_a_message_and_keeps_the_old_file(trained_file, small_disk, capsys):
    table = small_disk.parent / "in.csv"
    table.write_text("text\n" + "The striker scored a late goal in the final\n" * 1500)
    (small_disk / "out.csv").write_text("previous results\n")
    output = str(small_disk / "out.csv")  # 1,500 rows of output need about 120 KiB
    code = main(
        ["classify-csv", str(trained_file), str(table), "-o", output, "--chunk-rows", "500"]
    )
    assert code == EXIT_USER_ERROR
    assert "free some disk space or choose another disk" in capsys.readouterr().err
    assert (small_disk / "out.csv").read_text() == "previous results\n"
    assert sorted(p.name for p in small_disk.iterdir()) == ["out.csv"]


class ModelLoading(Exception):
    """Raised in place of loading the backbone: the table was read and checked by then."""


def test_train_reads_the_table_as_detected_or_as_the_flags_say(tmp_path, capsys, monkeypatch):
    def stop(*args, **kwargs):
        raise ModelLoading

    monkeypatch.setattr("engine.backbone.load_backbone", stop)
    rows = [f"{text};{label}" for label, texts in TOPICS.items() for text in texts[:2]]
    table = tmp_path / "examples.csv"
    table.write_bytes(("text;label\nUn café crème;cooking\n" + "\n".join(rows)).encode("cp1252"))
    output = ["-o", str(tmp_path / "x.safetensors")]
    for flags in ([], ["--delimiter", ";", "--encoding", "cp1252"]):
        with pytest.raises(ModelLoading):
            main(["train", str(table), *output, *flags])
    assert main(["train", str(table), *output, "--delimiter", "tab"]) == EXIT_USER_ERROR
    assert "columns found: 'text;label'. It was read as one column" in capsys.readouterr().err
    assert main(["train", str(table), *output, "--encoding", "utf-8"]) == EXIT_USER_ERROR
    assert "`examples.csv` is not valid UTF-8 text" in capsys.readouterr().err

    book = tmp_path / "examples.xlsx"
    with pd.ExcelWriter(book) as writer:
        pd.DataFrame({"note": ["see the next sheet"]}).to_excel(
            writer, sheet_name="Notes", index=False
        )
        pd.read_csv(table, sep=";", encoding="cp1252").to_excel(
            writer, sheet_name="Examples", index=False
        )
    with pytest.raises(ModelLoading):
        main(["train", str(book), *output, "--sheet", "Examples"])
    assert main(["train", str(book), *output]) == EXIT_USER_ERROR
    assert "has no column 'text'; columns found: 'note'" in capsys.readouterr().err
    assert main(["train", str(book), *output, "--sheet", "Data"]) == EXIT_USER_ERROR
    assert "has no sheet 'Data'; sheets found: 'Notes', 'Examples'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", str(table), *output, "--delimiter", ":"])
    assert "invalid choice: ':'" in capsys.readouterr().err


def test_classify_csv_reads_the_table_as_the_flags_say(trained_file, tmp_path, capsys):
    table = tmp_path / "unicode.csv"  # Excel's "Unicode text": UTF-16, tab-separated
    table.write_text(
        "id\ttext\n1\tKnead the dough, then bake\n2\tThe goalkeeper saved it\n", "utf-16"
    )
    output = tmp_path / "out.csv"
    flags = ["--delimiter", "\t", "--encoding", "utf-16"]
    assert main(["classify-csv", str(trained_file), str(table), "-o", str(output), *flags]) == 0
    assert pd.read_csv(output)["predicted_label"].tolist() == ["cooking", "sports"]
    book = tmp_path / "book.xlsx"
    with pd.ExcelWriter(book) as writer:
        pd.DataFrame({"note": ["x"]}).to_excel(writer, sheet_name="Notes", index=False)
        pd.read_csv(table, sep="\t", encoding="utf-16").to_excel(
            writer, sheet_name="Texts", index=False
        )
    assert main(["classify-csv", str(trained_file), str(book), "-o", str(output)]) == 2
    assert "has no column 'text'; columns found: 'note'" in capsys.readouterr().err
    flags = ["--sheet", "Texts"]
    assert main(["classify-csv", str(trained_file), str(book), "-o", str(output), *flags]) == 0
    assert pd.read_csv(output)["id"].tolist() == [1, 2]


def test_a_long_run_is_announced_once_from_its_first_step(capsys):
    from engine.cli import progress_bar
    from engine.progress import ProgressEvent

    now = [0.0]
    update = progress_bar("Fine-tuning", stopping="Ctrl-C stops it", clock=lambda: now[0])
    for step in range(1, 4):
        now[0] = 48.0 * step  # 48 s a step, 20 steps: 15 minutes 12 s left after the first
        update(ProgressEvent("Fine-tuning", step, 20))
    err = capsys.readouterr().err
    assert err.count("This will take") == 1
    assert "This will take about 15 minutes (Ctrl-C stops it).\n" in err
    update = progress_bar("Fine-tuning", clock=lambda: now[0])
    now[0] += 2.0  # 2 s a step: 38 s in all, not worth a word
    update(ProgressEvent("Fine-tuning", 1, 20))
    assert "This will take" not in capsys.readouterr().err


def test_ctrl_c_during_a_long_train_keeps_the_previous_classifier(tmp_path, capsys, monkeypatch):
    """The estimate is patched (no real clock), the fit stands in for a slow one, and Ctrl-C
    comes after its first step: the classifier file already at `-o` must stay as it was."""
    from engine.progress import ProgressEvent, TimeLeft

    class SlowClassifier:
        def __init__(self, *args, **kwargs):
            pass

        def fit(self, texts, labels, *, progress):
            progress(ProgressEvent("Fine-tuning", 1, 20))
            raise KeyboardInterrupt  # what SIGINT raises in the main thread

    monkeypatch.setattr("engine.backbone.load_backbone", lambda *args, **kwargs: None)
    monkeypatch.setattr("engine.cli.load_meta_option", lambda *args: None)
    monkeypatch.setattr("engine.classifier.Classifier", SlowClassifier)
    monkeypatch.setattr(TimeLeft, "update", lambda self, event: 5 * 3600.0)
    table = tmp_path / "t.csv"
    table.write_text("text,label\nThe striker scored,sports\nBake the bread,cooking\n")
    output = tmp_path / "topics.safetensors"
    output.write_bytes(b"the previous classifier")
    assert main(["train", str(table), "-o", str(output)]) == 130
    err = capsys.readouterr().err
    assert (
        "This will take about 5 hours (Ctrl-C stops it and keeps the previous classifier)." in err
    )
    assert "fewshot train: cancelled" in err
    assert output.read_bytes() == b"the previous classifier"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv", "topics.safetensors"]


def test_metatrain_help_imports_neither_torch_nor_transformers():
    """`--help` answers at once: torch (and torchrun's set-up) load only when a command runs."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys, engine.cli\n"
        "try:\n    engine.cli.main(['metatrain', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers')))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=Path(__file__).parents[1], capture_output=True, text=True
    )
    assert "usage:" in completed.stdout
    assert completed.stdout.splitlines()[-1] == "[]", completed.stdout + completed.stderr


def test_metatrain_leaving_out_an_absent_family_stops_before_the_model_loads(tmp_path, capsys):
    (tmp_path / "tasks" / "imdb").mkdir(parents=True)
    (tmp_path / "tasks" / "imdb" / "train.jsonl").write_text('{"text": "good", "label": "1"}\n')
    command = ["metatrain", "--tasks", str(tmp_path / "tasks"), "--out", str(tmp_path / "run")]
    assert main([*command, "--leave-out-family", "topics"]) == EXIT_USER_ERROR
    captured = capsys.readouterr()
    assert (
        "No task of family 'topics' to leave out; the families present: sentiment" in captured.err
    )
    assert "Loading the backbone" not in captured.out + captured.err
