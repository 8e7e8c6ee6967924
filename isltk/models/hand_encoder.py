"""Per-frame hand encoder: the two keypoint-placed hand crops of a frame (isltk.data.hands) -> one vector.

A small conv stack of its own (3x3 convs with max pooling, the pooled stem's recipe: a finger a few pixels wide
keeps its strength wherever it falls), then a max and a mean over the crop, then a projection to the frame
feature width. Four convs and three poolings give the last one a receptive field of 38 px, wider than a 32 px
crop, so it sees the hand's outline as a whole (fingers fanned out or together) rather than a patch of it: with
three convs and two poolings (~18 px) a crop reader trained on 12 signers read one unseen signer's flat and
spread hands the other way round (docs/experiments/learning.md, "A hand encoder that sees the whole hand").
The three poolings set the smallest crop the config accepts (isltk.config.MIN_HAND_CROP_PX).
Each hand (left, right) has its own learned side embedding added, and a hand not found in a frame is a learned
"missing" embedding instead of its (black) crop. The two hands' vectors are summed and added to the frame's
features, like the keypoint stream.
"""

from __future__ import annotations

import torch
from torch import nn


class HandEncoder(nn.Module):
    """(B, T, 2, S, S, 3) normalised crops as (B, T, 2, 3, S, S) + (B, T, 2) found + (B, T) mask -> (B, T, D)."""

    def __init__(self, out_dim: int, width: int = 16) -> None:
        super().__init__()
        self.convs = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(2 * width, 4 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(4 * width, 4 * width, 3, padding=1), nn.ReLU(),
        )
        self.project = nn.Sequential(nn.Linear(8 * width, out_dim), nn.LayerNorm(out_dim))
        self.side = nn.Parameter(torch.zeros(2, out_dim))
        self.missing = nn.Parameter(torch.zeros(2, out_dim))
        nn.init.normal_(self.side, std=0.02)
        nn.init.normal_(self.missing, std=0.02)

    def forward(self, crops: torch.Tensor, found: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        batch, time, hands = crops.shape[:3]
        maps = self.convs(crops.reshape(batch * time * hands, *crops.shape[3:]))
        pooled = torch.cat([maps.amax((2, 3)), maps.mean((2, 3))], dim=1)
        vectors = self.project(pooled).reshape(batch, time, hands, -1) + self.side
        vectors = torch.where(found[..., None], vectors, self.missing.to(vectors.dtype))
        return vectors.sum(2) * frame_mask[..., None].to(vectors.dtype)
