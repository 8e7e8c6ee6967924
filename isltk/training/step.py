"""The training step, written once: precision choice, forward + objective, backward, clipping, optimizer step.

The trainer, the memory trace (`hardware/memory.py`) and the GPU probe (`hardware/probe.py`) all go
through these functions, so what check-hardware measures or predicts is the step that trains: the
same label smoothing, the same gloss loss, the same autocast dtype and grad scaler.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch

from isltk.config import Config, TrainingConfig
from isltk.models.objective import Objective, objective
from isltk.models.translator import Streams


@dataclass(frozen=True)
class StepSettings:
    """What a step needs from the config, resolved once for a device."""

    amp_dtype: torch.dtype | None  # autocast dtype; None = fp32
    needs_scaler: bool  # fp16 needs a GradScaler
    label_smoothing: float
    max_grad_norm: float
    gloss_weights: Mapping[str, float] = field(default_factory=dict)  # training.gloss_losses in use, by head
    motion_dropout: float = 0.0  # an augmentation the forward pass applies (SignTranslator.motion_keep)

    @classmethod
    def from_config(cls, cfg: Config, device: torch.device) -> StepSettings:
        return cls.for_precision(cfg.training, cfg.decoder.label_smoothing, *amp_settings(cfg, device))

    @classmethod
    def for_precision(cls, training: TrainingConfig, label_smoothing: float, amp_dtype: torch.dtype | None,
                      needs_scaler: bool) -> StepSettings:
        """The step of these training settings at a given precision: the memory trace plans a GPU's step on
        the CPU, where `from_config` would pick fp32."""
        return cls(amp_dtype, needs_scaler, label_smoothing, training.optimizer.max_grad_norm, training.gloss_losses.active(),
                   training.augmentation.motion_dropout)


def amp_settings(cfg: Config, device: torch.device) -> tuple[torch.dtype | None, bool]:
    """(autocast dtype or None, whether a GradScaler is needed): bf16 where supported, fp16 + scaler otherwise."""
    t = cfg.training
    if not t.use_amp or device.type == "cpu":  # CPU runs fp32: no shipped config trains under CPU autocast
        return None, False
    # including_emulation=False: the default also says True on V100/T4/Turing, where bf16 is emulated (slow,
    # and cuDNN has no bf16 convolutions below sm80): those GPUs get fp16 + a grad scaler.
    if t.amp_dtype == "fp16" or (t.amp_dtype == "auto" and not torch.cuda.is_bf16_supported(including_emulation=False)):
        return torch.float16, True
    return torch.bfloat16, False


def make_grad_scaler(settings: StepSettings, device: torch.device, sharded: bool) -> torch.amp.GradScaler:
    """fp16 needs loss scaling; under FSDP the scaler must all-reduce its found-inf flag (ShardedGradScaler), or
    ranks holding different gradient shards could disagree about skipping a step. Disabled (a no-op) otherwise."""
    if settings.needs_scaler and sharded:
        from torch.distributed.fsdp.sharded_grad_scaler import ShardedGradScaler

        return ShardedGradScaler(device.type)
    return torch.amp.GradScaler(device.type, enabled=settings.needs_scaler)


def autocast(device_type: str, dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    return contextlib.nullcontext() if dtype is None else torch.autocast(device_type, dtype=dtype)


def forward_objective(model: torch.nn.Module, frames: torch.Tensor | None, mask: torch.Tensor, tokens: torch.Tensor,
                      settings: StepSettings, glosses: torch.Tensor | None = None,
                      gloss_lengths: torch.Tensor | None = None, streams: Streams | None = None) -> Objective:
    """Teacher-forced forward under the step's autocast, then the training objective (in fp32).

    `frames`, `mask`, `streams` are model inputs (SignTranslator.batch_inputs: normalised frames or cached
    features, None without pixels; streams None without keypoints or hand crops)."""
    with autocast(mask.device.type, settings.amp_dtype):
        output = model(frames, mask, tokens, settings.motion_dropout, streams)
    return objective(output, tokens, settings.label_smoothing, glosses, gloss_lengths, settings.gloss_weights)


def backward(result: Objective, normaliser: torch.Tensor | float, scaler: torch.amp.GradScaler | None) -> None:
    """Gradients of result.total / normaliser (the token count the loss is averaged over), scaled for fp16."""
    loss = result.total / normaliser
    (scaler.scale(loss) if scaler is not None else loss).backward()


def clip_gradients(model: torch.nn.Module, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler | None,
                   max_grad_norm: float) -> torch.Tensor:
    """Unscale (fp16) and clip to max_grad_norm; returns the norm before clipping (inf/NaN if it overflowed)."""
    if scaler is not None:
        scaler.unscale_(optimizer)
    return torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.grad is not None], max_grad_norm)


def optimizer_step(optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler | None) -> None:
    """The update (skipped by the scaler when fp16 gradients overflowed), then gradients freed."""
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    optimizer.zero_grad(set_to_none=True)
