"""Statistics over a clip's valid frames: padding never counts. The encoder's motion channels and the
temporal normalisation both take a clip's mean this way, so it is written once."""

from __future__ import annotations

import torch


def clip_mean(x: torch.Tensor, weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean over time (dim 1) of the frames whose weight is 1, that count clamped to >= 1), both with the time
    dimension kept. `weights` is the frame mask as x's dtype, shaped to broadcast against x (B, T, 1, ...)."""
    count = weights.sum(1, keepdim=True).clamp_min(1.0)
    return (x * weights).sum(1, keepdim=True) / count, count
