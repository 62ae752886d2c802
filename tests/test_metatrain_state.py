"""A damaged trainer state (trainer_state.json + .safetensors): every field checked, a clear
FormatError instead of a traceback, from the library, the CLI and a resumed run alike.

The hypothesis tests' number of examples comes from the profile (conftest.py).
"""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file, save_file
from test_formats_fuzz import JSON
from test_metatrain import sampler_for, task_root, tiny_config  # noqa: F401 - a fixture

from engine.formats import FormatError, load_meta_checkpoint
from engine.metatrain import (
    MetaParameters,
    StoppedRun,
    check_resumable,
    load_trainer_state,
    metatrain,
    stopped_run,
)
from engine.progress import Cancelled

STATE_JSON, STATE_TENSORS = "trainer_state.json", "trainer_state.safetensors"


@pytest.fixture(scope="module")
def stopped(tiny_backbone, task_root, tmp_path_factory):  # noqa: F811
    """A real run of 4 steps stopped after its checkpoint at step 2."""
    folder = tmp_path_factory.mktemp("state") / "run"
    checks = iter(range(10))
    with pytest.raises(Cancelled):
        metatrain(
            tiny_backbone,
            sampler_for(task_root, tiny_config().shape),
            tiny_config(),
            folder,
            should_stop=lambda: next(checks) == 3,
        )
    return folder


@pytest.fixture(scope="module")
def meta(tiny_backbone, stopped):
    return MetaParameters(tiny_backbone, load_meta_checkpoint(stopped), torch.device("cpu"))


def copy_of(stopped, tmp_path, *, info=None, tensors=None):
    """The stopped run in a folder of its own, its JSON and tensors replaced as given."""
    folder = tmp_path / "copy"
    shutil.copytree(stopped, folder, dirs_exist_ok=True)
    if info is not None:
        text = info if isinstance(info, str) else json.dumps(info, allow_nan=True)
        (folder / STATE_JSON).write_text(text)
    if tensors is not None:
        save_file(tensors, folder / STATE_TENSORS)
    return folder


def resume_outcome(folder, meta):
    """What each reader makes of the folder: a result, or the FormatError it raised."""
    try:
        stopped_run(folder)
        check_resumable(folder, tiny_config())
        return load_trainer_state(folder, meta.optimizer(tiny_config()), meta)
    except ValueError as error:  # FormatError, or settings other than the run's
        return error


def test_a_valid_state_reads_as_before(stopped, meta):
    assert stopped_run(stopped) == StoppedRun(steps_done=2, steps_planned=4)
    check_resumable(stopped, tiny_config())
    optimizer = meta.optimizer(tiny_config())
    info = load_trainer_state(stopped, optimizer, meta)
    assert info["step"] == 2 and len(info["history"]) == 2
    assert len(optimizer.state) == len(meta.named())


def info_of(stopped) -> dict:
    return json.loads((stopped / STATE_JSON).read_text())


def changed(info: dict, path: str, value) -> dict:
    """`info` with the field at the dotted `path` set to `value` (DROP: removed)."""
    info = json.loads(json.dumps(info))
    *parents, last = path.split(".")
    target = info
    for name in parents:
        target = target[int(name)] if isinstance(target, list) else target[name]
    if value is DROP:
        target.pop(last) if isinstance(target, dict) else target.pop(int(last))
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return info


DROP = object()
BAD_FIELDS = [
    ("step", DROP, "the field `step` is missing"),
    ("step", "2", "the field `step` is '2'; expected the number of outer steps done"),
    ("step", 0, "the field `step` is 0"),
    ("step", 9, "`step` is 9, past the 4 planned"),
    ("seconds", -1.0, "the field `seconds` is -1.0"),
    ("seconds", float("nan"), "the field `seconds` is nan"),
    ("history", {"step": 1}, "the field `history`"),
    ("history.0.loss", "low", "the field `history`"),
    ("config", [], "the field `config` is []"),
    ("config.outer_steps", 0, "`config`: the field `outer_steps` is 0"),
    ("config.lr", "fast", "`config`: the field `lr` is 'fast'; expected a number"),
    ("config.order", 2, "`config`: the field `order` is 2"),
    ("config.unknown", 1, "`config`: unknown field(s) ['unknown']"),
    ("param_groups", [], "the field `param_groups` is []"),
    ("param_groups.0.lr", -0.1, "`param_groups`: the field `lr` is -0.1; expected a number"),
    ("param_groups.1.betas", [0.9], "the field `betas` is [0.9]"),
    ("param_groups.0.params", [0, 1], "the field `params` is [0, 1]; expected the"),
    ("param_groups.0.eps", DROP, "the field `eps` is missing"),
    ("param_groups.0.amsgrad", "no", "the field `amsgrad` is 'no'"),
    ("param_groups.0.extra", 1, "`param_groups`: unknown field(s) ['extra']"),
    ("extra", 1, "unknown field(s) ['extra']"),
]  # fmt: skip


@pytest.mark.parametrize("path, value, message", BAD_FIELDS)
def test_a_bad_field_is_named(stopped, meta, tmp_path, path, value, message):
    folder = copy_of(stopped, tmp_path, info=changed(info_of(stopped), path, value))
    error = resume_outcome(folder, meta)
    assert isinstance(error, FormatError) and message in str(error), error
    assert STATE_JSON in str(error)


def test_json_that_is_not_an_object_is_refused(stopped, meta, tmp_path):
    for text, message in (("{", "is not valid JSON"), ("[1]", "expected a JSON object")):
        with pytest.raises(FormatError, match=message):
            stopped_run(copy_of(stopped, tmp_path, info=text))


def moments(stopped) -> dict[str, torch.Tensor]:
    return load_file(stopped / STATE_TENSORS)


def test_tensors_that_do_not_fit_the_meta_parameters_are_refused(stopped, meta, tmp_path):
    tensors = moments(stopped)
    name = next(k for k in tensors if k.endswith("::exp_avg") and tensors[k].ndim == 2)
    cases = [
        ({**tensors, name: tensors[name][:1]}, "expected torch.float32 of shape"),
        ({**tensors, name: tensors[name].double()}, "is torch.float64 of shape"),
        ({**tensors, "phi0/nothing::exp_avg": torch.zeros(2)}, "holds 'phi0/nothing::exp_avg'"),
        ({**tensors, name.replace("exp_avg", "velocity"): tensors[name].clone()}, "::velocity"),
        ({k: v for k, v in tensors.items() if k != name}, "lacks ['exp_avg']"),
        ({**tensors, name.replace("exp_avg", "step"): torch.zeros(3)}, "a float of shape ()"),
    ]  # fmt: skip
    for changed_tensors, message in cases:
        folder = copy_of(stopped, tmp_path, tensors=changed_tensors)
        error = resume_outcome(folder, meta)
        assert isinstance(error, FormatError) and message in str(error), (message, error)
        assert STATE_TENSORS in str(error) and "Cannot resume" in str(error)
    (folder / STATE_TENSORS).write_bytes(b"not safetensors")
    assert "is corrupt or truncated" in str(resume_outcome(folder, meta))
    (folder / STATE_TENSORS).unlink()
    assert "is missing" in str(resume_outcome(folder, meta))


def test_resuming_a_damaged_run_says_so_and_how_to_start_afresh(
    tiny_backbone,
    task_root,  # noqa: F811
    stopped,
    tmp_path,
):
    folder = copy_of(stopped, tmp_path, info=changed(info_of(stopped), "step", "two"))
    config = tiny_config()
    with pytest.raises(FormatError, match=r"Cannot resume the run in .*--restart"):
        metatrain(tiny_backbone, sampler_for(task_root, config.shape), config, folder)


def test_the_cli_refuses_a_damaged_run_before_loading_anything(
    stopped, tmp_path, capsys, monkeypatch
):
    from engine.cli import EXIT_USER_ERROR, main

    def no_model(*args, **kwargs):
        raise AssertionError("the backbone was loaded before the trainer state was checked")

    monkeypatch.setattr("engine.backbone.load_backbone", no_model)
    folder = copy_of(stopped, tmp_path, info=changed(info_of(stopped), "history", None))
    assert main(["metatrain", "--out", str(folder), "--steps", "4"]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert "fewshot metatrain: error: Cannot resume the run in" in err
    assert "the field `history` is None" in err and "--restart" in err


FIELDS = [
    "step", "seconds", "history", "history.0", "history.0.loss", "config", "config.outer_steps",
    "config.lr", "config.shape", "config.order", "param_groups", "param_groups.0",
    "param_groups.0.lr", "param_groups.1.params", "param_groups.1.betas", "param_groups.0.fused",
    "new_field",
]  # fmt: skip
TENSOR_CHANGES = ["none", "drop", "rename", "reshape", "double", "extra"]


def tensor_change(tensors: dict, change: str, index: int) -> dict:
    names = sorted(tensors)
    name = names[index % len(names)]
    tensors = dict(tensors)
    if change == "drop":
        del tensors[name]
    elif change == "rename":
        tensors[name + "x"] = tensors.pop(name)
    elif change == "reshape":
        tensors[name] = torch.zeros(tensors[name].numel() + 1)
    elif change == "double":
        tensors[name] = tensors[name].double()
    elif change == "extra":
        tensors["log_scale::exp_avg_sq_2"] = torch.zeros(())
    return tensors


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    edits=st.lists(st.tuples(st.sampled_from(FIELDS), JSON | st.just(DROP)), max_size=2),
    change=st.sampled_from(TENSOR_CHANGES),
    index=st.integers(0, 1000),
)
def test_a_mutated_state_resumes_or_is_refused_clearly(
    stopped, meta, tmp_path, edits, change, index
):
    info = info_of(stopped)
    for path, value in edits:
        try:
            info = changed(info, path, value)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            pass  # the parent was replaced by an earlier edit: nothing to change
    folder = copy_of(
        stopped, tmp_path, info=info, tensors=tensor_change(moments(stopped), change, index)
    )
    outcome = resume_outcome(folder, meta)
    event(type(outcome).__name__)  # --hypothesis-show-statistics: how many of each outcome
    if isinstance(outcome, FormatError):
        assert "trainer_state." in str(outcome)  # names the file
    elif isinstance(outcome, ValueError):
        assert "holds a run with a different configuration" in str(outcome)
    else:
        assert outcome["step"] == info["step"]
