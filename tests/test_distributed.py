"""Process groups and devices (isltk/training/distributed.py): a real two-process gloo group."""

import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

from isltk.errors import IsltkError
from isltk.training.distributed import (
    DistInfo,
    all_reduce_sum,
    init_distributed,
    pick_device,
    shutdown_distributed,
)


def test_devices_are_checked_with_one_line_errors() -> None:
    assert pick_device("cpu") == torch.device("cpu")
    with pytest.raises(IsltkError, match="'gpu'; use auto, cpu, cuda or cuda:N"):
        pick_device("gpu", setting="--device")
    if not torch.cuda.is_available():
        assert pick_device("auto") == torch.device("cpu")
        with pytest.raises(IsltkError, match="no CUDA GPU is visible"):
            pick_device("cuda")


def test_a_single_process_needs_no_group() -> None:
    info = init_distributed("cpu")
    assert info == DistInfo() and info.is_main and not info.enabled
    value = torch.tensor(3.0)
    assert all_reduce_sum(value, info) is value


def _rank(rank: int, port: int, results: "mp.Queue[tuple[int, float, int]]") -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    info = init_distributed("cpu")
    total = all_reduce_sum(torch.tensor(float(rank + 1)), info)
    results.put((info.rank, float(total), info.world))
    shutdown_distributed()


def test_two_processes_sum_across_ranks() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    context = mp.get_context("spawn")
    results = context.Queue()
    processes = [context.Process(target=_rank, args=(rank, port, results)) for rank in range(2)]
    for p in processes:
        p.start()
    got = sorted(results.get(timeout=120) for _ in processes)
    for p in processes:
        p.join(timeout=60)
    assert got == [(0, 3.0, 2), (1, 3.0, 2)] and all(p.exitcode == 0 for p in processes)
