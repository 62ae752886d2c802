"""Random and mutated `fewshot` command lines: every outcome is exit status 0 or 2 with a
message on stderr, or the model starting to load (here, a stand-in that stops there);
never a traceback. A value no number reading accepts, a negative count, or a missing input
must be refused before the model loads.

The model never loads: `load_backbone` is replaced by a stand-in raising ModelLoading, so
each example costs milliseconds. The number of examples comes from the hypothesis profile
(conftest.py); `--hypothesis-profile long` hunts longer.
"""

from __future__ import annotations

import json
import math
import re

import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_onnx_config import BASE

from engine.cli import EXIT_USER_ERROR, main
from engine.formats import ClassifierFile, save_classifier_file
from engine.onnx_predictor import CONFIG_FILE, TOKENIZER_FILE


class ModelLoading(Exception):
    """Every check before the model passed: the fuzz stops where the slow part would begin."""


PATHS = ["missing", "folder", "examples", "pool", "classifier", "onnx", "binary", "nested"]
HOSTILE_NUMBERS = [
    "0", "-3", "abc", "", "4,abc", "1e3", "nan", "inf", "-inf", " 5", "5-2", "0-99999999",
    "99999999999999999999", "1_000", "\u0663", "0.5", "-0.0", "4,8,16", "2-", "--1",
]  # fmt: skip
NUMBERS = st.one_of(
    st.integers(1, 64).map(str),  # plausible: the checks after parsing get their turn too
    st.integers(-(10**6), 10**6).map(str),
    st.sampled_from(HOSTILE_NUMBERS),
    st.text(max_size=6),
)
HOSTILE_TEXT = st.sampled_from(["", "nonsense", "\x00", "-", "--", "tab", "\t"]) | st.text(
    max_size=8
)
# Option -> its kind of value: "int", "float", "list" or "int2" (numbers), "in" or "out"
# (paths), "flag", or the good values of a text option (hostile ones are drawn as well).
COMMON = {"--device": ["auto", "cpu"], "--backbone": ["tiny"]}
TABLE = {"--encoding": ["utf-8", "latin-1"], "--delimiter": [",", "tab"], "--sheet": ["x"]}
COMMANDS = {
    "train": (["in:examples"], {"-o": "out", "--max-length": "int", "--text-col": ["text"],
              "--label-col": ["label"], "--meta": "in", **TABLE, **COMMON}),
    "predict": (["in:classifier"], {"--json": "flag"}),
    "info": ([], {**COMMON}),
    "export": (["in:classifier"], {"--onnx": "out", "--int8": "flag"}),
    "classify-csv": (["in:classifier", "in:pool"], {"-o": "out", "--text-col": ["text"],
                     "--batch-size": "int", "--chunk-rows": "int", "--threads": "int", **TABLE}),
    "suggest": (["in:classifier", "in:pool"], {"-o": "out", "-n": "int", "--seed": "int",
                "--strategy": ["random", "diverse"], "--threads": "int",
                "--text-col": ["text"], **TABLE}),
    "bench": ([], {"--suite": "in", "--k": "list", "--splits": "list",
              "--methods": ["prototype", "adapter,prototype"], "--max-eval": "int",
              "--max-length": "int", "--seed": "int", "--threads": "int", "--quick": "flag",
              "--tasks": ["a,b"], "--meta": "in", "--maml-meta": "in", **COMMON}),
    "bench-report": (["in:binary"], {"--splits": "list"}),
    "metatrain": ([], {"--steps": "int", "--meta-batch": "int", "--inner-steps": "int",
                  "--lambda": "float", "--n-way": "int2", "--k-shot": "int2", "--query": "int",
                  "--max-length": "int", "--adapter-width": "int", "--meta-width": "int",
                  "--clusters": "int", "--lr": "float", "--alpha-lr": "float",
                  "--checkpoint-every": "int", "--validate-every": "int",
                  "--validation-episodes": "int", "--seed": "int", "--threads": "int",
                  "--tasks": "in", "--unlabeled": "in", "--init": "in", "--out": "out",
                  "--name": ["run"], "--first-order": "flag", **COMMON}),
}  # fmt: skip
REQUIRED = {"train": "-o", "classify-csv": "-o", "suggest": "-o", "export": "--onnx",
            "bench": "--suite"}  # fmt: skip


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """One path of each kind the fuzz hands to the commands."""
    root = tmp_path_factory.mktemp("cli-fuzz")
    rows = [f"text number {i} about {'ab'[i % 2]},{'ab'[i % 2]}" for i in range(12)]
    (root / "examples.csv").write_text("text,label\n" + "\n".join(rows) + "\n")
    (root / "pool.csv").write_text("text\nhello there\ngood morning\n")
    (root / "binary").write_bytes(bytes(range(256)))
    (root / "folder").mkdir()
    (root / "onnx").mkdir()
    (root / "onnx" / CONFIG_FILE).write_text(json.dumps(BASE))
    (root / "onnx" / TOKENIZER_FILE).write_text("{}")
    head = {"head.weight": torch.zeros(2, 4), "head.bias": torch.zeros(2)}
    content = ClassifierFile(head, ["a", "b"], "x", "f", "m", "g", False, "mean", 64, {}, {})
    save_classifier_file(content, root / "classifier.safetensors")
    return root


def path_of(files, kind: str) -> str:
    named = {"classifier": "classifier.safetensors", "examples": "examples.csv", "pool": "pool.csv"}
    named |= {"nested": "binary/below", "new": "new-output.csv"}
    return str(files / named.get(kind, kind))


@st.composite
def command_lines(draw):
    """A subcommand, its positionals (kept, dropped or replaced) and options with values."""
    command = draw(st.sampled_from(sorted(COMMANDS)))
    positionals, options = COMMANDS[command]
    argv, hostile = [command], False
    for positional in positionals:
        kind = draw(st.sampled_from([positional.split(":")[1]] * 3 + PATHS))
        hostile |= kind in ("missing", "nested") and command != "info"
        argv.append(("path", kind))
    chosen = draw(st.lists(st.sampled_from(sorted(options)), max_size=4))
    if command in REQUIRED and draw(st.integers(0, 9)):  # mostly given: the rest gets a turn
        chosen.insert(0, REQUIRED[command])
    for option in chosen:
        role = options[option]
        if role == "flag":
            argv.append(option)
        elif role in ("in", "out"):
            kind = draw(st.sampled_from(["folder" if role == "in" else "new"] * 3 + PATHS))
            hostile |= role == "in" and kind in ("missing", "nested")
            argv += [option, ("path", kind)]
        elif isinstance(role, list):
            argv += [option, draw(st.sampled_from(role) | HOSTILE_TEXT)]
        else:
            values = [draw(NUMBERS) for _ in range(2 if role == "int2" else 1)]
            hostile |= any(not_a_count(v, role) for v in values)
            argv += [option, *values]
    if not draw(st.integers(0, 3)):  # a stray token anywhere
        argv.insert(draw(st.integers(1, len(argv))), draw(st.text(max_size=6)))
    return argv, hostile


def not_a_count(text: str, role: str) -> bool:
    """True for what no option here takes: no number at all, a negative or infinite one."""
    if role == "list":
        return not text.strip() or text.strip().startswith("-")
    try:
        value = float(text) if role == "float" else int(text)
    except ValueError:
        return True
    return value < 0 or not math.isfinite(value)


@pytest.fixture
def no_model(monkeypatch):
    def stop(*args, **kwargs):
        raise ModelLoading

    monkeypatch.setattr("engine.backbone.load_backbone", stop)
    monkeypatch.setattr("engine.classifier.load_backbone", stop)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=command_lines())
def test_a_hostile_command_line_is_a_message_never_a_traceback(files, no_model, capsys, case):
    argv, hostile = case
    argv = [path_of(files, a[1]) if isinstance(a, tuple) else a for a in argv]
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exit:  # argparse: usage and the error, status 2
        code = exit.code
    except ModelLoading:
        assert not hostile, f"{argv} reached the model"
        event("reached the model")  # --hypothesis-show-statistics counts the outcomes
        return
    err = capsys.readouterr().err
    assert code in (0, EXIT_USER_ERROR), (argv, code, err)
    event(f"exit status {code}")
    assert "Traceback" not in err
    if code == EXIT_USER_ERROR:
        assert re.search(r"^fewshot( \S+)?: error: \S", err, re.MULTILINE), err


# What the first hunt found: each reached the model (10-20 s, minutes for metatrain) before
# failing, failed with a message for no person, or ran to the end and failed there.
FOUND = [
    (["bench", "--suite", "folder", "--k", "4,abc"], "argument --k: expected whole numbers"),
    (["bench", "--suite", "folder", "--k", "5-2"], "argument --k: expected whole numbers"),
    (["bench", "--suite", "folder", "--splits", "0-99999999"], "argument --splits:"),
    (["bench", "--suite", "folder", "--methods", "probe"], "unknown 'probe'; choose from"),
    (["bench", "--suite", "folder", "--max-eval", "-1"], "argument --max-eval:"),
    (["bench", "--suite", "missing"], "argument --suite: there is no folder"),
    (["bench", "--suite", "examples"], "argument --suite: `"),
    (["bench-report", "examples"], "is not a JSON report of `fewshot bench`"),
    (["train", "examples", "-o", "new", "--max-length", "4"], "from 8 to 8192, got 4"),
    (["train", "examples", "-o", "folder"], "is not a file; give a file name"),
    (["train", "examples", "-o", "nested"], "is a file, not a folder"),
    (["train", "examples", "-o", "new", "--meta", "missing"], "argument --meta:"),
    (["train", "examples", "-o", "new", "--device", "cpu:x"], "argument --device:"),
    (["suggest", "classifier", "pool", "-o", "new", "-n", "-3"], "argument -n:"),
    (["suggest", "classifier", "pool", "-o", "new", "--seed", "-1"], "argument --seed:"),
    (["classify-csv", "classifier", "pool", "-o", "new", "--batch-size", "0"], "--batch-size"),
    (["classify-csv", "classifier", "folder", "-o", "new"], "argument input: `"),
    (["classify-csv", "classifier", "pool", "-o", "pool"], "is the input file"),
    (["export", "classifier", "--onnx", "examples"], "is not a folder; give a folder name"),
    (["metatrain", "--validate-every", "0"], "argument --validate-every:"),
    (["metatrain", "--inner-steps", "5000"], "from 1 to 1000, got 5000"),
    (["metatrain", "--lambda", "2"], "argument --lambda: expected a number from 0 to 1"),
    (["metatrain", "--lr", "nan"], "argument --lr: expected a number above 0"),
    (["metatrain", "--max-length", "0"], "argument --max-length:"),
    (["metatrain", "--threads", "100000000000000000000"], "argument --threads:"),
    (["metatrain", "--tasks", "missing"], "argument --tasks: there is no folder"),
    (["metatrain", "--out", "examples"], "argument --out: `"),
]


@pytest.mark.parametrize("argv, message", FOUND, ids=[" ".join(a) for a, _ in FOUND])
def test_what_the_fuzz_found_is_refused_before_the_model(files, no_model, capsys, argv, message):
    kinds = {"new", "folder", "missing", "examples", "pool", "classifier", "nested"}
    argv = [path_of(files, a) if a in kinds else a for a in argv]
    try:
        code = main(argv)
    except SystemExit as exit:
        code = exit.code
    assert code == EXIT_USER_ERROR
    assert message in capsys.readouterr().err
