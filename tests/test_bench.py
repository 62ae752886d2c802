import copy
import dataclasses
import json
import re
import statistics

import pytest

from engine.backbone import fingerprint_model
from engine.bench import METHOD_NAMES
from engine.bench.fewshot import (
    BenchSettings,
    accuracy_table,
    build_methods,
    cost_table,
    family_table,
    merge_reports,
    paired_table,
    render,
    run_bench,
)
from engine.bench.suite import load_suite, load_suites
from engine.formats import initial_meta_checkpoint

SINGLE = {
    "positive": [
        "I loved this film",
        "A wonderful, moving story",
        "Great acting throughout",
        "Truly delightful",
        "An excellent script",
    ],
    "negative": [
        "I hated this film",
        "A dull, boring story",
        "Terrible acting throughout",
        "Truly awful",
        "A dreadful script",
    ],
}
PAIRS = {
    "person": [
        ("Marie Curie won two prizes", "Marie Curie"),
        ("Obama spoke today", "Obama"),
        ("Ada Lovelace wrote notes", "Ada Lovelace"),
        ("Messi scored again", "Messi"),
        ("Einstein was born in Ulm", "Einstein"),
    ],
    "location": [
        ("Paris is busy in summer", "Paris"),
        ("He moved to Kenya", "Kenya"),
        ("The Alps are high", "Alps"),
        ("Tokyo never sleeps", "Tokyo"),
        ("We sailed to Crete", "Crete"),
    ],
}


def write(path, rows):
    path.write_text(json.dumps(rows))


def single_rows(items):
    return [
        {"sentence1": t, "label": label} for label, texts in SINGLE.items() for t in texts[items]
    ]


def pair_rows(items):
    return [
        {"sentence1": a, "sentence2": b, "label": label}
        for label, pairs in PAIRS.items()
        for a, b in pairs[items]
    ]


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    root = tmp_path_factory.mktemp("suite")
    (root / "movies").mkdir()
    (root / "conll").mkdir()  # file prefix differs from the folder name
    write(root / "movies" / "movies_eval.json", single_rows(slice(2, 5)))
    write(root / "conll" / "conll_c_eval.json", pair_rows(slice(2, 5)))
    for split in (0, 1):
        write(
            root / "movies" / f"movies_train_{split}_2.json", single_rows(slice(split, split + 2))
        )
        write(root / "conll" / f"conll_c_train_{split}_2.json", pair_rows(slice(split, split + 2)))
    return root


@pytest.fixture(scope="module")
def trained_looking_meta(backbone):
    """The untrained checkpoint, labelled as trained: enough to exercise the method plumbing."""
    return dataclasses.replace(initial_meta_checkpoint(backbone), training={"test": True}, name="t")


def test_loader_matches_files_by_pattern(suite):
    tasks = {t.name: t for t in load_suite(suite)}
    assert set(tasks) == {"movies", "conll"}
    assert tasks["conll"].eval_path.name == "conll_c_eval.json"
    assert sorted(tasks["conll"].train_paths) == [(0, 2), (1, 2)]
    pairs = tasks["conll"].train(0, 2)
    assert all(isinstance(t, tuple) for t in pairs.texts) and set(pairs.labels) == set(PAIRS)
    with pytest.raises(ValueError, match="has no train file for split 5, k=2"):
        tasks["movies"].train(5, 2)


def test_several_suites_run_in_one_bench(suite, tmp_path, backbone):
    import shutil

    second = tmp_path / "second-suite"
    shutil.copytree(suite / "movies", second / "reviews")
    for path in (second / "reviews").iterdir():
        path.rename(path.with_name(path.name.replace("movies", "reviews")))
    cheap = {"methods": ["prototype"], "shots": [2], "splits": [0], "max_length": 24}
    report = run_bench(backbone, BenchSettings([suite, second], **cheap), {})
    assert {r["task"] for r in report["runs"]} == {"movies", "conll", "reviews"}
    assert report["settings"]["suites"] == [str(suite.resolve()), str(second.resolve())]
    assert {t.name for t in load_suites([suite, second], ["reviews", "conll"])} == {
        "reviews",
        "conll",
    }
    with pytest.raises(ValueError, match="Task `conll` is in two suites"):
        load_suites([suite, suite], None)


def test_missing_eval_and_unknown_names_are_explained(suite, tmp_path, backbone):
    broken = tmp_path / "broken" / "task"
    broken.mkdir(parents=True)
    write(broken / "task_train_0_2.json", single_rows(slice(0, 2)))
    with pytest.raises(ValueError, match="needs exactly one \\*_eval.json file, found 0"):
        load_suite(tmp_path / "broken")
    with pytest.raises(ValueError, match=r"Unknown task\(s\) \['nope'\]"):
        load_suite(suite, ["nope"])
    with pytest.raises(ValueError, match=r"Unknown method\(s\) \['magic'\]"):
        build_methods(["magic"], backbone, BenchSettings(suite), {})


@pytest.mark.slow
def test_every_method_runs_end_to_end_and_the_table_agrees(suite, backbone, trained_looking_meta):
    settings = BenchSettings(
        suite,
        shots=[2],
        splits=[0, 1],
        max_length=24,
        methods=list(METHOD_NAMES),
    )
    metas = {"meta-adapter": trained_looking_meta, "maml-adapter": trained_looking_meta}
    report = run_bench(backbone, settings, metas)
    ran = {r["method"] for r in report["runs"]}
    assert ran | set(report["skipped"]) == set(settings.methods)
    assert {
        "meta-adapter",
        "adapter",
        "maml-adapter",
        "linear-probe",
        "prototype",
        "full-finetune",
    } <= ran
    assert len(report["runs"]) == 2 * 2 * len(ran)
    assert all(0.0 <= r["accuracy"] <= 1.0 for r in report["runs"])
    assert report["environment"]["seed"] == 0 and "torch" in report["environment"]["versions"]
    # full fine-tuning trains a private copy: the weights every classifier shares are intact
    assert fingerprint_model(backbone.model) == backbone.fingerprint

    table = accuracy_table(report)
    header = next(line for line in table.splitlines() if line.startswith("| task"))
    methods = [m.strip() for m in header.strip("|").split("|")[1:]]
    average_row = next(line for line in table.splitlines() if "average" in line)
    shown = [float(re.sub(r"[*]", "", cell)) for cell in average_row.strip("|").split("|")[1:]]
    for method, value in zip(methods, shown):
        per_task = [
            statistics.mean(
                100 * r["accuracy"]
                for r in report["runs"]
                if r["method"] == method and r["task"] == task
            )
            for task in ("movies", "conll")
        ]
        assert value == pytest.approx(statistics.mean(per_task), abs=0.051)
    assert "predict texts/s" in render(report)


def test_a_stopped_benchmark_continues_and_parallel_reports_merge(suite, backbone, tmp_path):
    path = tmp_path / "report.json"
    cheap = dict(shots=[2], splits=[0, 1], max_length=24)
    first = run_bench(
        backbone, BenchSettings(suite, methods=["prototype"], **cheap), {}, report_path=path
    )
    assert json.loads(path.read_text())["runs"] == first["runs"]  # saved as it goes

    both = BenchSettings(suite, methods=["prototype", "linear-probe"], **cheap)
    continued = run_bench(backbone, both, {}, report_path=path)
    assert continued["runs"][: len(first["runs"])] == first["runs"]  # kept, not run again
    assert (
        sorted(r["method"] for r in continued["runs"]) == ["linear-probe"] * 4 + ["prototype"] * 4
    )

    probe_only = run_bench(backbone, BenchSettings(suite, methods=["linear-probe"], **cheap), {})
    merged = merge_reports([first, probe_only])
    assert merged["settings"]["methods"] == ["prototype", "linear-probe"]
    assert len(merged["runs"]) == 8 and "| linear-probe |" in render(merged)
    first_split = merge_reports([first, probe_only], splits=[0])
    assert {r["split"] for r in first_split["runs"]} == {0} and len(first_split["runs"]) == 4
    assert "mean ± std over 1 splits" in render(first_split)
    rerun = copy.deepcopy(first)
    rerun["runs"][0]["accuracy"] = -1.0
    replaced = merge_reports([continued, rerun])
    assert len(replaced["runs"]) == 8 and -1.0 in [r["accuracy"] for r in replaced["runs"]]
    other_k = copy.deepcopy(probe_only)  # a method measured at another k only
    for r in other_k["runs"]:
        r["k"] = 5
    by_k = accuracy_table(merge_reports([first, other_k])).split("**k = 5**")
    assert "linear-probe" not in by_k[0] and "prototype" not in by_k[1]

    longer = run_bench(
        backbone, BenchSettings(suite, methods=["prototype"], **{**cheap, "max_length": 32}), {}
    )
    with pytest.raises(ValueError, match="differ in `max_length`"):
        merge_reports([first, longer])
    with pytest.raises(ValueError, match="differ in `max_length`"):
        run_bench(backbone, dataclasses.replace(both, max_length=32), {}, report_path=path)


def test_the_paired_table_compares_methods_split_by_split():
    def run(method, split, task, accuracy):
        return {"method": method, "k": 4, "split": split, "task": task, "accuracy": accuracy}

    ours = {(0, "a"): 0.60, (0, "b"): 0.80, (1, "a"): 0.50, (1, "b"): 0.70, (2, "a"): 0.9}
    theirs = {(0, "a"): 0.50, (0, "b"): 0.70, (1, "a"): 0.55, (1, "b"): 0.75, (2, "a"): 0.1}
    runs = [run("meta-adapter", s, t, a) for (s, t), a in ours.items()]
    runs += [run("adapter", s, t, a) for (s, t), a in theirs.items()]
    row = next(line for line in paired_table({"runs": runs}).splitlines() if "adapter |" in line)
    # split 2 lacks task b, so only splits 0 (+10 points) and 1 (-5 points) are paired
    assert [cell.strip() for cell in row.strip("|").split("|")] == [
        "4",
        "adapter",
        "+2.50",
        "7.50",
        "1/2",
    ]
    assert paired_table({"runs": runs[:5]}) == ""  # nothing to compare against


def test_the_family_table_compares_each_task_with_the_probe_and_the_best_peer():
    def run(method, split, task, accuracy):
        return {"method": method, "k": 4, "split": split, "task": task, "accuracy": accuracy}

    accuracies = {  # (ours, linear probe, setfit) on splits 0 and 1
        "mr": [(0.80, 0.70, 0.75), (0.90, 0.70, 0.85)],  # sentiment: ahead of both
        "sst5": [(0.40, 0.30, 0.30), (0.40, 0.30, 0.30)],  # sentiment
        "stackoverflow": [(0.50, 0.60, 0.70), (0.50, 0.56, 0.70)],  # topic: below the probe
        "sms_spam": [(0.90, 0.905, 0.80), (0.90, 0.905, 0.80)],  # spam: behind by 0.5 only
    }
    runs = [
        run(method, split, task, accuracy)
        for task, by_split in accuracies.items()
        for split, values in enumerate(by_split)
        for method, accuracy in zip(("meta-adapter", "linear-probe", "setfit"), values)
    ]
    table = family_table({"runs": runs})
    rows = {line.split("|")[2].strip(): line for line in table.splitlines() if line.count("|") == 7}
    cells = [c.strip() for c in rows["stackoverflow"].strip("|").split("|")]
    assert cells == ["topic", "stackoverflow", "-8.00 ± 2.00", "setfit", "-20.00 ± 0.00",
                     "2 **below the probe**"]  # fmt: skip
    assert rows["mr"].split("|")[3:6] == [" +15.00 ± 5.00 ", " setfit ", " +5.00 ± 0.00 "]
    assert "below the probe" not in rows["sms_spam"]  # within the 1-point limit
    assert "| sentiment | 2 | +12.50 | +7.50 |" in table  # family means over its tasks
    assert family_table({"runs": [r for r in runs if r["method"] != "linear-probe"]}) == ""


def test_timings_from_another_device_get_their_own_cost_row(suite, backbone):
    cheap = BenchSettings(suite, methods=["prototype"], shots=[2], splits=[0], max_length=24)
    report = run_bench(backbone, cheap, {})
    assert report["environment"]["device"] == "cpu"
    assert {r["device"] for r in report["runs"]} == {"cpu"}
    on_gpu = copy.deepcopy(report)
    for r in on_gpu["runs"]:
        r["device"], r["fit_seconds"], r["split"] = "cuda (Some GPU)", 1234.0, 1
    rows = cost_table(merge_reports([report, on_gpu])).splitlines()
    assert rows[2].startswith("| prototype |") and "1234.00" not in rows[2]
    assert rows[3].startswith("| prototype on cuda (Some GPU) |") and "1234.00" in rows[3]


def test_the_labeling_report_counts_each_case_once_and_only_cases_every_strategy_finished(
    suite, tmp_path
):
    from engine.bench.labeling import report

    def run(task, seed, strategy, at16, at32):
        return {"task": task, "seed": seed, "strategy": strategy, "curve": {16: at16, 32: at32}}

    first = [run("movies", 0, "uncertainty", 0.1, 0.2), run("movies", 0, "random", 0.3, 0.4)]
    second = [
        run("movies", 0, "uncertainty", 0.5, 0.6),  # the same case again: the later run counts
        run("conll", 0, "uncertainty", 0.9, 0.9),  # random never ran on conll: left out
    ]
    paths = []
    for name, rows in (("a.json", first), ("b.json", second)):
        (tmp_path / name).write_text(json.dumps({"rows": rows}))
        paths.append(tmp_path / name)
    text = report(paths, [suite])
    assert "| uncertainty | – | 50.0 | 60.0 | 1 |" in text
    assert "| random | – | 30.0 | 40.0 | 1 |" in text
    assert "| conll | 1 | 90 / 90 | – / – |" in text
