"""Parameters and FLOPs of a model config, measured with torch.utils.flop_counter on the meta device
(no weights allocated, no guesses); printed by `check-hardware` and `train`."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from isltk.models.objective import objective
from isltk.models.translator import ModelConfig, SignTranslator, example_batch


@dataclass
class ModelSummary:
    parameters: dict[str, int]  # by part, plus "total"
    forward_gflop_per_clip: float
    train_gflop_per_clip: float  # forward + backward
    frames: int
    target_tokens: int


def count_parameters(model: nn.Module) -> dict[str, int]:
    parts = {name: sum(p.numel() for p in child.parameters()) for name, child in model.named_children()}
    parts["total"] = sum(p.numel() for p in model.parameters())
    return parts


def summarize(cfg: ModelConfig, frames: int, target_tokens: int = 20) -> ModelSummary:
    """Parameters and FLOPs for one clip, measured by FlopCounterMode on meta tensors."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        model = SignTranslator(cfg)
        loaded, tokens = example_batch(cfg, 1, frames, target_tokens + 1)
        video, mask, streams = model.batch_inputs(loaded, "meta")
    counter = FlopCounterMode(display=False)
    with counter:
        loss = objective(model(video, mask, tokens, streams=streams), tokens, cfg.decoder.label_smoothing).total
    forward = counter.get_total_flops()
    with counter:
        loss = objective(model(video, mask, tokens, streams=streams), tokens, cfg.decoder.label_smoothing).total
        loss.backward()
    total = counter.get_total_flops()
    return ModelSummary(count_parameters(model), forward / 1e9, total / 1e9, frames, target_tokens)
