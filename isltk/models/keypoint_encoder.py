"""Per-frame keypoint encoder: a frame's normalised body and hand keypoints (isltk.data.keypoints) -> one vector.

Beside the ViT its vector is added to the frame's pixel features, so the temporal blocks see one feature per frame
either way; alone (a pose-only corpus) it is the frame feature. Points not found are zero with found = 0 in their
last channel, so the layers can tell "not seen" from "at the origin".
"""

from __future__ import annotations

import torch
from torch import nn


class KeypointEncoder(nn.Module):
    """(B, T, P, C) keypoints + (B, T) validity mask -> (B, T, D) per-frame features (zeros where padded)."""

    def __init__(self, points: int, channels: int, out_dim: int) -> None:
        super().__init__()
        self.out_dim = out_dim
        self.net = nn.Sequential(
            nn.Linear(points * channels, out_dim), nn.GELU(), nn.Linear(out_dim, out_dim), nn.LayerNorm(out_dim),
        )

    def forward(self, keypoints: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        features = self.net(keypoints.flatten(2).float())
        return features * frame_mask[..., None].to(features.dtype)
