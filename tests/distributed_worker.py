"""Run by torchrun in test_metatrain: one rank's averaged meta-gradient of step 0."""

import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).parent))
from conftest import make_tiny_backbone  # noqa: E402
from test_metatrain import tiny_config  # noqa: E402

from engine.distributed import average_gradients, init_distributed  # noqa: E402
from engine.formats import initial_meta_checkpoint  # noqa: E402
from engine.metatrain import MetaParameters, meta_gradients  # noqa: E402
from engine.tasks import SupervisedSampler, find_task_folders, read_task_folder  # noqa: E402


def main(task_root: str, output: str) -> None:
    torch.set_num_threads(1)
    backbone = make_tiny_backbone()
    config = tiny_config()
    sampler = SupervisedSampler(
        [read_task_folder(f) for f in find_task_folders([Path(task_root)])], config.shape
    )
    meta = MetaParameters(
        backbone, initial_meta_checkpoint(backbone, config.adapter, steps=2), torch.device("cpu")
    )
    ranks = init_distributed(torch.device("cpu"))
    meta_gradients(meta, backbone, sampler, config, step=0, rank=ranks.rank)
    average_gradients(list(meta.named().values()), ranks)
    if ranks.is_main:
        save_file({n: p.grad.contiguous() for n, p in meta.named().items()}, output)


if __name__ == "__main__":
    main(*sys.argv[1:])
