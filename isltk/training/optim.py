"""AdamW with separate encoder/decoder learning rates and no weight decay on norms, biases and
embeddings; linear warmup then cosine decay, built from torch.optim.lr_scheduler."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from isltk.config import OptimizerConfig
from isltk.training.distributed import unwrap


def parameter_groups(model: nn.Module, cfg: OptimizerConfig) -> list[dict]:
    skip = model.no_weight_decay() if hasattr(model, "no_weight_decay") else set()
    groups: dict[tuple[str, bool], list[nn.Parameter]] = {}
    for name, parameter in model.named_parameters():
        is_encoder = name.startswith("encoder.")
        no_decay = parameter.ndim <= 1 or name in skip or "embedding" in name or "pos_embed" in name or "cls_token" in name
        groups.setdefault(("encoder" if is_encoder else "rest", no_decay), []).append(parameter)
    out = []
    for (part, no_decay), params in sorted(groups.items()):
        lr = cfg.encoder_lr if part == "encoder" else cfg.learning_rate
        out.append({"params": params, "lr": lr, "weight_decay": 0.0 if no_decay else cfg.weight_decay,
                    "name": f"{part}{'/no_decay' if no_decay else ''}"})
    return out


def build_optimizer(model: nn.Module, cfg: OptimizerConfig, device: torch.device, foreach: bool = False) -> torch.optim.Optimizer:
    """The training optimizer: fused AdamW on CUDA (one kernel for all parameters, no per-tensor launches) unless
    `cfg.fused` is off.
    `foreach`: the multi-tensor path instead, whose temporary copies of the moments make it the upper bound
    the memory trace plans with (hardware/memory.py, run on the CPU, where fused kernels are not traced)."""
    fused = cfg.fused and device.type == "cuda" and not foreach
    return torch.optim.AdamW(parameter_groups(unwrap(model), cfg), betas=(0.9, 0.98), eps=1e-8, fused=fused,
                             foreach=True if foreach else None)


def lr_factor(step: int, warmup_steps: int, total_steps: int) -> float:
    """Multiplier of the configured learning rate after `step` optimizer steps: linear warmup from 1/warmup
    to 1, then cosine decay to 0 at total_steps. A pure function of the step, so a resumed run follows the
    schedule of its *current* config (changed learning rates or length), not the one it was saved with."""
    warmup = max(1, min(warmup_steps, total_steps // 2))
    if step < warmup:
        return 1.0 / warmup + (1.0 - 1.0 / warmup) * step / warmup
    progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: OptimizerConfig, total_steps: int, start_step: int = 0) -> LambdaLR:
    """Warmup + cosine over the param groups' configured lrs; `start_step` > 0 continues a resumed run there."""
    for group in optimizer.param_groups:
        group.setdefault("initial_lr", group["lr"])  # a resumed optimizer already holds the configured base lr
    # the constructor takes one step from last_epoch, landing on start_step
    return LambdaLR(optimizer, lambda step: lr_factor(step, cfg.warmup_steps, total_steps), last_epoch=start_step - 1)


def apply_settings(optimizer: torch.optim.Optimizer, model: nn.Module, cfg: OptimizerConfig) -> list[str]:
    """Set the config's lr and weight decay on a restored optimizer's groups (its moments are kept); returns what
    changed, e.g. ['rest: lr 0.001 -> 0.0001'], so a resumed run says it follows the new settings."""
    changes = []
    for group, fresh in zip(optimizer.param_groups, parameter_groups(unwrap(model), cfg), strict=True):
        for key, new in (("lr", fresh["lr"]), ("weight_decay", fresh["weight_decay"])):
            old = group["initial_lr"] if key == "lr" else group[key]
            if old != new:
                changes.append(f"{group['name']}: {key} {old:g} -> {new:g}")
            group["initial_lr" if key == "lr" else key] = new
    return changes
