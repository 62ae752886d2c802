"""Random and mutated project files and tables: every outcome is a result or a clear error.

Projects: fields dropped, replaced by random JSON, or a whole random document. Tables: cells
with control characters, NUL bytes, lone surrogates (written with surrogatepass, as bytes
no codec can round-trip), long cells and ragged rows, in every delimiter. The number of
examples comes from the hypothesis profile (conftest.py).
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_formats_fuzz import JSON

from engine.project import (
    Example,
    Project,
    ProjectError,
    project_from_json,
    project_to_json,
)
from engine.tables import TableError, column_warnings, detect_format, read_table
from engine.training_state import TrainedOn, model_state

BASE = json.loads(
    project_to_json(
        Project(
            ["a", "b"],
            [Example("first", "a"), Example("second", "b"), Example("third", "")],
            classifier_file=b"bytes",
            trained_on=TrainedOn.of(["first", "second"], ["a", "b"], ["a", "b"], {}),
            pool=["to label"],
        )
    )
)
FIELDS = sorted(BASE) + ["examples.0", "classifier.trained_on", "classifier.sha256", "pool.0"]


def mutate(document: dict, field: str, value) -> dict:
    document = json.loads(json.dumps(document))
    *parents, last = field.split(".")
    target = document
    for name in parents:
        target = target[int(name)] if isinstance(target, list) else target[name]
    if isinstance(target, list) and value is DROP:
        del target[int(last)]
    elif isinstance(target, list):
        target[int(last)] = value
    elif value is DROP:
        target.pop(last, None)
    else:
        target[last] = value
    return document


DROP = object()


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(FIELDS), value=JSON | st.just(DROP))
def test_a_mutated_project_is_a_project_or_a_project_error(field, value):
    document = mutate(BASE, field, value)
    try:
        project = project_from_json(json.dumps(document))
    except ProjectError:
        return
    project_from_json(project_to_json(project))  # what was accepted saves and reads back
    texts = [e.text for e in project.examples if e.text.strip() and e.label]
    labels = [e.label for e in project.examples if e.text.strip() and e.label]
    model_state(project.classifier_file is not None, project.trained_on, texts, labels, {})


@given(document=JSON)
def test_random_json_is_refused_with_a_project_error(document):
    try:
        project_from_json(json.dumps(document))
    except ProjectError:
        pass


CELL = st.text(
    alphabet=st.characters(codec=None, exclude_categories=()), max_size=30
) | st.sampled_from(["\x00", "a\x00b", "\r", "\n", '"', '""', "\ud800", "x" * 20_000, ""])


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.lists(CELL, min_size=0, max_size=4), min_size=1, max_size=6),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    suffix=st.sampled_from([".csv", ".tsv", ".txt"]),
)
def test_a_hostile_table_is_read_or_refused_with_a_table_error(tmp_path, rows, delimiter, suffix):
    path = tmp_path / f"table{suffix}"
    text = "\n".join(delimiter.join(row) for row in [["text", "label"], *rows])
    path.write_bytes(text.encode("utf-8", errors="surrogatepass"))  # invalid UTF-8 bytes
    try:
        detected = detect_format(path)
        frame = read_table(path, table_format=detected)
    except TableError:
        return
    assert all(isinstance(value, str) for value in frame.to_numpy().ravel())
    if {"text", "label"} <= set(frame.columns):
        column_warnings(frame, "text", "label")
