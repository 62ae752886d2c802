import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TOPICS
from safetensors.torch import load_file

from engine.adapters import AdapterConfig
from engine.finetune import Order
from engine.formats import initial_meta_checkpoint, load_meta_checkpoint
from engine.metatrain import (
    MetaParameters,
    MetaTrainConfig,
    StoppedRun,
    encode_episode,
    episode_loss,
    meta_gradients,
    metatrain,
    stopped_run,
)
from engine.progress import Cancelled
from engine.tasks import (
    CLUSTERING_WORDS,
    EMBEDDING_WORDS,
    INDEXING_WORDS,
    KMEANS_ITERATIONS,
    LOADING_TASKS,
    READING_TEXT,
    EpisodeShape,
    SupervisedSampler,
    build_sampler,
    cluster_words,
    find_task_folders,
    read_task_folder,
)

WORDS = ["river", "castle", "garden", "engine", "violin", "harbour"]


def tiny_config(**changes) -> MetaTrainConfig:
    settings = dict(
        outer_steps=4,
        meta_batch=2,
        inner_steps=2,
        order=Order.FIRST,
        lam=1.0,
        shape=EpisodeShape(n_way=(2, 3), k_shot=(2, 3), query=2),
        max_length=16,
        lr=1e-2,
        alpha_lr=5e-2,
        checkpoint_every=2,
        validate_every=2,
        validation_episodes=2,
        adapter=AdapterConfig(adapter_width=4, meta_width=3),
    )
    return MetaTrainConfig(**{**settings, **changes})


@pytest.fixture(scope="module")
def task_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("tasks")
    for name, offset in (("topics", 0), ("topics_again", 4)):
        folder = root / name
        folder.mkdir()
        rows = [
            {"text": t, "label": label}
            for label, texts in TOPICS.items()
            for t in texts[offset:] + texts[:offset]
        ]
        (folder / "train.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    return root


@pytest.fixture
def corpus(tmp_path):
    """Two .txt files whose six topic words each occur often enough to be indexed."""
    folder = tmp_path / "text"
    folder.mkdir()
    for part in ("a", "b"):
        (folder / f"{part}.txt").write_text(
            "\n".join(
                f"Line {i}: we talked about the {WORDS[i % 6]} for a long while."
                for i in range(150)
            )
        )
    return folder


def sampler_for(root, shape):
    return SupervisedSampler([read_task_folder(f) for f in find_task_folders([root])], shape)


def tensors(folder):
    return load_file(Path(folder) / "meta.safetensors")


@pytest.mark.parametrize("order", [Order.FIRST, Order.SECOND])
def test_resume_after_cancel_continues_exactly(tiny_backbone, task_root, tmp_path, order):
    config = tiny_config(order=order)
    sampler = sampler_for(task_root, config.shape)
    straight = metatrain(tiny_backbone, sampler, config, tmp_path / "straight")
    steps_started = []

    def stop_after_three():
        steps_started.append(1)
        return len(steps_started) > 3

    with pytest.raises(Cancelled):
        metatrain(
            tiny_backbone, sampler, config, tmp_path / "resumed", should_stop=stop_after_three
        )
    assert json.loads((tmp_path / "resumed" / "trainer_state.json").read_text())["step"] == 2
    assert stopped_run(tmp_path / "resumed") == StoppedRun(steps_done=2, steps_planned=4)
    resumed = metatrain(tiny_backbone, sampler, config, tmp_path / "resumed")
    assert stopped_run(tmp_path / "resumed") is None and stopped_run(tmp_path / "none") is None
    a, b = tensors(straight.folder), tensors(resumed.folder)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [r["loss"] for r in straight.history] == [r["loss"] for r in resumed.history]
    assert not torch.equal(
        a["log_scale"],
        initial_meta_checkpoint(tiny_backbone, config.adapter).tensors()["log_scale"],
    )


def test_resume_with_other_settings_is_refused(tiny_backbone, task_root, tmp_path):
    config = tiny_config(outer_steps=2)
    metatrain(tiny_backbone, sampler_for(task_root, config.shape), config, tmp_path / "run")
    longer = tiny_config(outer_steps=3)  # more steps: allowed
    metatrain(tiny_backbone, sampler_for(task_root, config.shape), longer, tmp_path / "run")
    with pytest.raises(ValueError, match="different configuration"):
        metatrain(
            tiny_backbone,
            sampler_for(task_root, config.shape),
            tiny_config(lr=0.5),
            tmp_path / "run",
        )


def test_checkpoint_records_training(tiny_backbone, task_root, tmp_path):
    config = tiny_config(outer_steps=2)
    result = metatrain(
        tiny_backbone,
        sampler_for(task_root, config.shape),
        config,
        tmp_path / "run",
        name="tiny",
        description={"command": "fewshot metatrain ..."},
    )
    checkpoint = load_meta_checkpoint(result.folder, backbone=tiny_backbone)
    assert checkpoint.trained and checkpoint.name == "tiny" and checkpoint.steps == 2
    assert checkpoint.training["command"] == "fewshot metatrain ..."
    assert checkpoint.training["episodes"] == 4
    assert set(checkpoint.training["hardware"]) >= {"device", "cpu_count", "world_size"}


def test_preparing_the_data_reports_each_stage(tiny_backbone, task_root, corpus, tmp_path):
    events = []

    def prepare():
        events.clear()
        build_sampler(
            tiny_backbone,
            task_dirs=[task_root],
            unlabeled=[corpus],
            shape=EpisodeShape(n_way=(2, 2), k_shot=(2, 2), query=1),
            lam=0.5,
            cache_dir=tmp_path / "cache",
            num_clusters=3,
            progress=events.append,
        )

    def counts(stage):
        return [(e.done, e.total) for e in events if e.stage == stage]

    prepare()
    stages = [LOADING_TASKS, READING_TEXT, INDEXING_WORDS, EMBEDDING_WORDS, CLUSTERING_WORDS]
    assert list(dict.fromkeys(e.stage for e in events)) == stages
    assert counts(LOADING_TASKS) == [(1, 2), (2, 2)]
    assert counts(READING_TEXT) == [(1, 2), (2, 2)]
    assert counts(INDEXING_WORDS) == [(300, 300)]
    assert counts(EMBEDDING_WORDS)[-1][0] == counts(EMBEDDING_WORDS)[-1][1] >= len(WORDS)
    iterations = counts(CLUSTERING_WORDS)
    assert [done for done, _ in iterations] == list(range(len(iterations)))  # 0: seeding
    assert {total for _, total in iterations} == {KMEANS_ITERATIONS}
    prepare()  # the word index and the clusters are cached: only the files are read again
    assert list(dict.fromkeys(e.stage for e in events)) == [LOADING_TASKS, READING_TEXT]


def test_word_clusters_find_separate_groups():
    rng = np.random.default_rng(0)
    groups = [rng.normal(loc, 0.1, size=(6, 4)) for loc in (-3.0, 0.0, 3.0)]
    clusters = cluster_words(np.concatenate(groups).astype(np.float32), 3, seed=0)
    assert sorted(clusters) == [list(range(0, 6)), list(range(6, 12)), list(range(12, 18))]
    with pytest.raises(ValueError, match=r"`num_clusters`=30 is more than the 18 words"):
        cluster_words(np.concatenate(groups), 30, seed=0)


@pytest.mark.slow
def test_outer_steps_reduce_query_loss_on_a_real_task(backbone, task_root, tmp_path):
    config = tiny_config(outer_steps=12, meta_batch=2, checkpoint_every=12, lr=1e-2, alpha_lr=0.1)
    sampler = sampler_for(task_root, config.shape)
    episodes = [sampler.sample(random.Random(f"held-{i}")) for i in range(6)]

    def mean_query_loss(checkpoint):
        meta = MetaParameters(backbone, checkpoint, torch.device("cpu"))
        losses = []
        for episode in episodes:
            support, query = encode_episode(backbone, episode, config.max_length)
            losses.append(
                episode_loss(meta, support, query, config.inner_steps, Order.NONE)[0].item()
            )
        return sum(losses) / len(losses)

    before = mean_query_loss(
        initial_meta_checkpoint(backbone, config.adapter, steps=config.inner_steps)
    )
    result = metatrain(backbone, sampler, config, tmp_path / "run")
    after = mean_query_loss(result.checkpoint)
    assert after < 0.9 * before


@pytest.mark.slow
def test_two_gloo_processes_average_like_one(tiny_backbone, task_root, tmp_path):
    output = tmp_path / "grads.safetensors"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1]), "OMP_NUM_THREADS": "1"}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            str(Path(__file__).parent / "distributed_worker.py"),
            str(task_root),
            str(output),
        ],
        check=True,
        env=env,
        timeout=300,
        capture_output=True,
    )
    distributed = load_file(output)
    config = tiny_config()
    sampler = sampler_for(task_root, config.shape)
    per_rank = []
    for rank in (0, 1):
        meta = MetaParameters(
            tiny_backbone,
            initial_meta_checkpoint(tiny_backbone, config.adapter, steps=2),
            torch.device("cpu"),
        )
        meta_gradients(meta, tiny_backbone, sampler, config, step=0, rank=rank)
        per_rank.append({n: p.grad.clone() for n, p in meta.named().items()})
    assert distributed.keys() == per_rank[0].keys()
    for name, gradient in distributed.items():
        expected = (per_rank[0][name] + per_rank[1][name]) / 2
        assert torch.allclose(gradient, expected, atol=1e-6), name
    assert not all(
        torch.allclose(per_rank[0][n], per_rank[1][n]) for n in distributed
    )  # ranks differ


@pytest.mark.slow
def test_cli_metatrain_emits_json_progress(task_root, corpus, tmp_path):
    env = {**os.environ, "FEWSHOT_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine.cli",
            "metatrain",
            "--tasks",
            str(task_root),
            "--unlabeled",
            str(corpus),
            "--steps",
            "2",
            "--meta-batch",
            "2",
            "--inner-steps",
            "1",
            "--first-order",
            "--n-way",
            "2",
            "2",
            "--k-shot",
            "2",
            "2",
            "--query",
            "1",
            "--max-length",
            "16",
            "--clusters",
            "3",
            "--name",
            "tiny",
            "--json-progress",
            "--validation-episodes",
            "1",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    stages = list(dict.fromkeys(e["stage"] for e in events if e["event"] == "stage"))
    assert stages == [
        "Loading the backbone",
        LOADING_TASKS,
        READING_TEXT,
        INDEXING_WORDS,
        EMBEDDING_WORDS,
        CLUSTERING_WORDS,
        "Running the first step",
    ]
    events = [e for e in events if e["event"] != "stage"]
    assert [e["event"] for e in events] == ["progress", "progress", "done"]
    assert {"loss", "accuracy", "episodes_per_s", "eta_s"} <= set(events[0])
    assert Path(events[-1]["checkpoint"]) == tmp_path / "data" / "meta" / "tiny"


def test_maml_adapter_ablation_keeps_meta_adapters_at_identity(tiny_backbone, task_root, tmp_path):
    config = tiny_config(outer_steps=2, train_meta_adapters=False)
    result = metatrain(
        tiny_backbone, sampler_for(task_root, config.shape), config, tmp_path / "run"
    )
    start = initial_meta_checkpoint(tiny_backbone, config.adapter, steps=config.inner_steps)
    assert all(torch.equal(result.checkpoint.omega[n], start.omega[n]) for n in start.omega)
    assert not all(torch.equal(result.checkpoint.phi0[n], start.phi0[n]) for n in start.phi0)


def test_a_new_run_can_start_from_a_trained_checkpoint(tiny_backbone, task_root, tmp_path):
    config = tiny_config(outer_steps=2)
    sampler = sampler_for(task_root, config.shape)
    first = metatrain(tiny_backbone, sampler, config, tmp_path / "first", name="first")
    again = tiny_config(outer_steps=2, inner_steps=3, alpha_lr=0.2)
    second = metatrain(
        tiny_backbone, sampler, again, tmp_path / "second", init=first.checkpoint
    ).checkpoint
    assert second.steps == 3
    assert second.training["started_from"]["fingerprint"] == first.checkpoint.fingerprint
    assert second.training["started_from"]["outer_steps_done"] == 2
    fresh = metatrain(tiny_backbone, sampler, again, tmp_path / "fresh").checkpoint
    assert not torch.equal(second.log_scale, fresh.log_scale)  # it really started elsewhere
    wider = tiny_config(adapter=AdapterConfig(adapter_width=6, meta_width=3))
    with pytest.raises(ValueError, match="adapter widths"):
        metatrain(tiny_backbone, sampler, wider, tmp_path / "wider", init=first.checkpoint)
