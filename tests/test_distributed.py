import fnmatch
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import TOPICS

from engine.backbone import BackboneError
from engine.distributed import init_distributed, rank_device

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node"]
# (LOCAL_RANK, WORLD_SIZE, --device, CUDA GPUs, MPS) -> the device, or the error's words
CPU, CUDA, CUDA_0, CUDA_1 = map(torch.device, ("cpu", "cuda", "cuda:0", "cuda:1"))
DEVICES = [
    (1, 2, "auto", 2, False, CUDA_1),
    (1, 2, "cuda", 2, False, CUDA_1),
    (0, 2, "cuda", 2, False, CUDA_0),
    (1, 2, "cpu", 2, False, CPU),
    (1, 2, "auto", 0, False, CPU),
    (1, 2, "auto", 0, True, CPU),  # gloo reduces CPU tensors, not MPS ones
    (0, 1, "auto", 2, False, CUDA),  # one process: pick_device as ever
    (0, 1, "cuda:1", 2, False, CUDA_1),
    (1, 2, "cuda:0", 2, False, "every torchrun process on one GPU"),
    (3, 4, "auto", 2, False, "at most that many"),
    (1, 2, "mps", 0, True, "MPS is not supported"),
]


@pytest.mark.parametrize("local_rank, world, preference, gpus, mps, expected", DEVICES)
def test_each_rank_takes_the_device_of_its_local_rank(
    monkeypatch, local_rank, world, preference, gpus, mps, expected
):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpus > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    env = {"LOCAL_RANK": str(local_rank), "WORLD_SIZE": str(world)}
    if isinstance(expected, torch.device):
        assert rank_device(preference, env) == expected
    else:
        with pytest.raises(BackboneError, match=expected):
            rank_device(preference, env)


def test_a_model_on_another_ranks_gpu_is_refused_before_nccl(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    with pytest.raises(ValueError, match=r"LOCAL_RANK=1\) has its model on cuda:0.*cuda:1"):
        init_distributed(torch.device("cuda", 0))


def test_one_process_needs_no_process_group(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    ranks = init_distributed(torch.device("cpu"))
    assert (ranks.rank, ranks.world, ranks.is_main) == (0, 1, True)


@pytest.mark.slow
def test_under_torchrun_each_rank_has_its_device_and_only_rank_0_validates_and_writes(
    tmp_path,
):
    task = tmp_path / "tasks" / "topics"
    task.mkdir(parents=True)
    rows = "\n".join(json.dumps({"text": t, "label": k}) for k, ts in TOPICS.items() for t in ts)
    for split in ("train", "validation"):
        (task / f"{split}.jsonl").write_text(rows)
    corpus = tmp_path / "text.txt"
    corpus.write_text("\n".join(f"We talked about the {w} today." for w in list(TOPICS) * 100))
    watched, reports = tmp_path / "data", tmp_path / "reports"
    reports.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).parents[1]),
        "OMP_NUM_THREADS": "1",
        "FEWSHOT_DATA_DIR": str(watched),
    }
    worker = [str(Path(__file__).parent / "distributed_cli_worker.py"), str(watched), str(reports)]
    metatrain = ["metatrain", "--tasks", str(task.parent), "--unlabeled", str(corpus)]
    tiny = ["--steps", "2", "--meta-batch", "1", "--inner-steps", "1", "--first-order"]
    tiny += ["--n-way", "2", "2", "--k-shot", "2", "2", "--query", "1", "--max-length", "16"]
    tiny += ["--clusters", "2", "--name", "tiny", "--threads", "1", "--checkpoint-every", "1"]
    gpus = torch.cuda.device_count()  # two or more: NCCL; none: gloo; one cannot hold two ranks
    tiny += ["--validate-every", "1", "--validation-episodes", "1"]
    tiny += ["--device", "cpu" if gpus == 1 else "auto"]
    completed = subprocess.run(
        [*TORCHRUN, "2", *worker, *metatrain, *tiny],
        env=env,
        timeout=300,
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    main, other = (json.loads((reports / f"rank-{r}.json").read_text()) for r in (0, 1))
    assert (main["local_rank"], other["local_rank"]) == (0, 1)
    expected = "cuda:{}" if gpus >= 2 else "cpu"
    assert main["devices"] == [expected.format(0)] and other["devices"] == [expected.format(1)]
    assert (main["validations"], other["validations"]) == (2, 0)
    assert other["writes"] == []
    for pattern in ("cache/word-index-*.npz", "cache/word-clusters-*.json",
                    "meta/tiny/meta.safetensors", "meta/tiny/trainer_state.json"):  # fmt: skip
        assert fnmatch.filter(main["writes"], pattern), (pattern, main["writes"])
