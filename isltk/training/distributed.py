"""torch.distributed setup from torchrun's environment, applied from outside the model (DDP or FSDP2)."""

from __future__ import annotations

import datetime
import os
import re
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from isltk.errors import IsltkError


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def pick_device(wanted: str, local_rank: int = 0, setting: str = "device") -> torch.device:
    """'auto' (this rank's GPU if any, else CPU), 'cpu', 'cuda' or 'cuda:N'; a clear error when no GPU is visible."""
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", wanted):
        raise IsltkError(f"{setting} is '{wanted}'; use auto, cpu, cuda or cuda:N")
    if wanted.startswith("cuda") or (wanted == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise IsltkError(f"{setting} is '{wanted}' but no CUDA GPU is visible; use cpu")
        return torch.device(wanted) if ":" in wanted else torch.device("cuda", local_rank)
    return torch.device(wanted if wanted != "auto" else "cpu")


COLLECTIVE_TIMEOUT = datetime.timedelta(minutes=60)


def init_distributed(device_type: str) -> DistInfo:
    """Join the process group torchrun describes (RANK/WORLD_SIZE/LOCAL_RANK); single process otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    if not dist.is_initialized():
        # Validation decodes on rank 0 while the other ranks wait at a barrier: NCCL's default 10-minute
        # timeout would kill a run whose validation split takes longer to decode.
        dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo", timeout=COLLECTIVE_TIMEOUT)
    info = DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))
    if device_type == "cuda":
        torch.cuda.set_device(info.local_rank)
    return info


def shutdown_distributed() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_sum(value: torch.Tensor, info: DistInfo) -> torch.Tensor:
    if info.enabled:
        value = value.clone()
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
    return value


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def fsdp_mixed_precision(amp_dtype: torch.dtype | None) -> Any:
    """Under AMP, FSDP2 all-gathers parameters in the compute dtype (half the traffic of fp32) and reduce-scatters
    gradients in fp32 (exact averaging), as torchtitan does; None (fp32 throughout) without AMP."""
    if amp_dtype is None:
        return None
    from torch.distributed.fsdp import MixedPrecisionPolicy

    return MixedPrecisionPolicy(param_dtype=amp_dtype, reduce_dtype=torch.float32)


def wrap_model(model: nn.Module, info: DistInfo, strategy: str, device: torch.device, find_unused: bool = False,
               amp_dtype: torch.dtype | None = None) -> nn.Module:
    """DDP (default) or FSDP2 (`fully_shard` per ViT block, then the root) for models that do not fit."""
    if not info.enabled:
        return model
    if strategy == "fsdp":
        from torch.distributed.fsdp import fully_shard

        policy = fsdp_mixed_precision(amp_dtype)
        options = {"mp_policy": policy} if policy is not None else {}
        for block in model.encoder.vit.blocks if model.encoder is not None else []:  # type: ignore[union-attr]
            fully_shard(block, **options)
        fully_shard(model, **options)
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(
        model,
        device_ids=[device.index] if device.type == "cuda" else None,
        gradient_as_bucket_view=True,  # grads live in the buckets: one copy of the gradients, not two
        bucket_cap_mb=100,
        find_unused_parameters=find_unused,  # a frozen ViT (freeze_epochs) gets no gradients
    )


def unwrap(model: nn.Module) -> nn.Module:
    return getattr(model, "module", model)


def gradient_sync(model: nn.Module, sync: bool) -> Any:
    """Context for one micro-batch's backward under gradient accumulation: gradients are all-reduced (DDP) or
    reduce-scattered (FSDP2) only on the last micro-batch, not on every one."""
    import contextlib

    if hasattr(model, "set_requires_gradient_sync"):  # FSDP2
        model.set_requires_gradient_sync(sync)
        return contextlib.nullcontext()
    if not sync and hasattr(model, "no_sync"):  # DDP
        return model.no_sync()
    return contextlib.nullcontext()
