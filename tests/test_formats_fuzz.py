"""Random and mutated classifier descriptions: every outcome is a classifier or a FormatError.

The number of examples comes from the hypothesis profile (conftest.py): a bounded "ci" one by
default, `--hypothesis-profile long` for a longer hunt.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import save_file

from engine.formats import FormatError, read_classifier_file

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


class RealFile:
    """A real classifier file's parts (a short repr keeps hypothesis' reports readable)."""

    def __init__(self, description, tensors, folder):
        self.description, self.tensors, self.folder = description, tensors, folder

    def __repr__(self) -> str:
        return "RealFile(...)"


@pytest.fixture(scope="module")
def real_file(fitted_classifier, tmp_path_factory):
    from safetensors import safe_open

    path = fitted_classifier.save(tmp_path_factory.mktemp("fuzz") / "real.safetensors")
    with safe_open(path, framework="pt") as handle:
        description = json.loads(handle.metadata()["fewshot_classifier"])
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}
    return RealFile(description, tensors, path.parent)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    drop=st.lists(st.sampled_from(sorted(["labels", "max_length", "pooling", "format_version",
                                          "training", "meta_trained", "created"])), max_size=2),
    replace=st.dictionaries(st.sampled_from(["labels", "max_length", "pooling", "format_version",
                                             "training", "meta_trained", "adapter_config",
                                             "backbone", "extra"]), JSON, max_size=2),
    whole=st.one_of(st.none(), JSON),
)  # fmt: skip
def test_mutated_descriptions_are_read_or_refused_clearly(real_file, drop, replace, whole):
    description, tensors, folder = real_file.description, real_file.tensors, real_file.folder
    mutated = dict(description)
    for name in drop:
        mutated.pop(name, None)
    mutated.update(replace)
    text = json.dumps(whole if whole is not None else mutated, allow_nan=True)
    path = folder / "mutated.safetensors"
    save_file(tensors, path, metadata={"fewshot_classifier": text})
    try:
        content = read_classifier_file(path)
    except FormatError as error:
        assert "mutated.safetensors" in str(error)  # names the file
    else:
        assert len(content.labels) == tensors["head.weight"].shape[0]
