"""Temporal modelling over per-frame features: dense temporal conv blocks, then attention pooling
into a shorter sequence of memory tokens refined by self-attention.

Why pool over time (not over patches): the ViT's CLS/avg pool already summarises each frame; what
the decoder needs is *when* things happen, so we keep a sequence and only shorten it (by
`conv_stride` × `pool_window`, 2× by default), like Sign Language Transformers and GFSLT-VLP. Each
memory token is a learned-query attention over its window of frames, so it can pick the frame
where a hand shape is clearest instead of averaging it away. Masks keep padded frames out of every
step, so a clip gives the same output however much it is padded.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from isltk.config import TemporalConfig


def downsample_mask(mask: torch.Tensor, factor: int) -> torch.Tensor:
    """Validity of the output positions after taking every `factor`-th step: ceil(length / factor)."""
    if factor == 1:
        return mask
    lengths = mask.sum(1)
    new_time = math.ceil(mask.shape[1] / factor)
    new_lengths = torch.div(lengths + factor - 1, factor, rounding_mode="floor")
    return torch.arange(new_time, device=mask.device)[None, :] < new_lengths[:, None]


def normalize_over_time(x: torch.Tensor, mask: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Per clip and channel, standardise over the clip's valid frames (padding excluded).

    Per-frame ViT features of one clip share a large static part (signer, background, lighting);
    what signs is what changes. Removing each clip's temporal mean and scale makes those changes the
    signal from the first step (a ViT trained from scratch otherwise spends epochs finding them) and
    drops signer/background identity. It uses no batch statistics: a clip's output does not depend on
    what else is in the batch, on padding, or on the number of GPUs.
    """
    x = x.float()  # statistics in fp32 even under bf16/fp16 autocast
    weights = mask[..., None].to(x.dtype)
    count = weights.sum(1, keepdim=True).clamp_min(1.0)
    mean = (x * weights).sum(1, keepdim=True) / count
    var = ((x - mean) ** 2 * weights).sum(1, keepdim=True) / count
    return (x - mean) * torch.rsqrt(var + eps) * weights


class FrameFeatureNorm(nn.Module):
    """What the temporal blocks see of each frame's features (`temporal.normalization`).

    - `clip`: `normalize_over_time` alone. It erases whatever is held still (a handshape kept for a
      whole greeting, a location) and blows channels that barely move up to unit scale.
    - `frame`: a per-frame LayerNorm: keeps what is held, but motion is only implicit.
    - `both` (default): the per-frame normalised features *and* their deviation from the clip's
      mean, concatenated. The first half keeps what is held still, the second says what changes;
      the deviation is taken after the per-frame LayerNorm, so small changes stay small (no
      amplification of noise), and a clip's output still does not depend on padding or the batch.
    """

    def __init__(self, dim: int, mode: str) -> None:
        super().__init__()
        self.mode = mode
        self.norm = nn.LayerNorm(dim) if mode != "clip" else nn.Identity()
        self.out_dim = 2 * dim if mode == "both" else dim

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.mode == "clip":
            return normalize_over_time(x, mask).to(x.dtype)
        weights = mask[..., None].to(x.dtype)
        frame = self.norm(x) * weights
        if self.mode == "frame":
            return frame
        mean = frame.sum(1, keepdim=True) / weights.sum(1, keepdim=True).clamp_min(1.0)
        return torch.cat([frame, (frame - mean) * weights], dim=-1)


class TemporalConvBlock(nn.Module):
    """Conv over time -> LayerNorm -> GELU -> dropout, with a residual path (strided when the block is)."""

    def __init__(self, dim: int, kernel_size: int, stride: int, dropout: float) -> None:
        super().__init__()
        self.conv = nn.Conv1d(dim, dim, kernel_size, stride=stride, padding=kernel_size // 2)
        self.norm = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(dropout)
        self.stride = stride

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = x * mask[..., None]  # padded frames contribute zeros, exactly like the conv's own padding
        y = self.conv(x.transpose(1, 2)).transpose(1, 2)
        y = self.dropout(F.gelu(self.norm(y)))
        new_mask = downsample_mask(mask, self.stride)
        return x[:, :: self.stride] + y, new_mask


class DenseTemporalBlocks(nn.Module):
    def __init__(self, in_dim: int, cfg: TemporalConfig) -> None:
        super().__init__()
        dim = cfg.hidden_dim or in_dim
        self.input_norm = FrameFeatureNorm(in_dim, cfg.normalization)
        norm_dim = self.input_norm.out_dim
        self.proj = nn.Linear(norm_dim, dim) if dim != norm_dim else nn.Identity()
        self.blocks = nn.ModuleList(
            TemporalConvBlock(dim, cfg.kernel_size, cfg.conv_stride if i == 0 else 1, cfg.dropout)
            for i in range(cfg.num_temporal_conv)
        )
        self.out_dim = dim

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.proj(self.input_norm(x, mask))
        for block in self.blocks:
            x, mask = block(x, mask)
        return x, mask


def sinusoidal_positions(length: int, dim: int, device: torch.device) -> torch.Tensor:
    position = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim, device=device)
    table[:, 0::2] = torch.sin(position * freq)
    table[:, 1::2] = torch.cos(position * freq[: dim // 2])
    return table


class DenseTemporalAttentionPooling(nn.Module):
    """Windows of `pool_window` frames -> one memory token each (multi-head learned-query attention),
    then sinusoidal positions and `num_refine_layers` Transformer self-attention layers."""

    def __init__(self, dim: int, out_dim: int, cfg: TemporalConfig) -> None:
        super().__init__()
        heads = cfg.pool_heads if dim % cfg.pool_heads == 0 else 1
        self.window, self.heads = cfg.pool_window, heads
        self.query = nn.Parameter(torch.zeros(heads, dim // heads))
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, out_dim)
        self.content_norm = nn.LayerNorm(out_dim)  # unit-scale content, so the positions do not drown it
        refine_heads = cfg.pool_heads if out_dim % cfg.pool_heads == 0 else 1
        layer = nn.TransformerEncoderLayer(out_dim, refine_heads, 4 * out_dim, cfg.dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.refine = nn.TransformerEncoder(layer, cfg.num_refine_layers, enable_nested_tensor=False) if cfg.num_refine_layers else None
        self.norm = nn.LayerNorm(out_dim)
        nn.init.normal_(self.query, std=0.02)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, time, dim = x.shape
        w = self.window
        pad = (-time) % w
        if pad:
            x = F.pad(x, (0, 0, 0, pad))
            mask = F.pad(mask, (0, pad), value=False)
        groups = x.shape[1] // w
        head_dim = dim // self.heads
        keys = self.key(x).view(batch, groups, w, self.heads, head_dim)
        values = self.value(x).view(batch, groups, w, self.heads, head_dim)
        scores = torch.einsum("bgwhd,hd->bghw", keys, self.query) / math.sqrt(head_dim)
        window_mask = mask.view(batch, groups, 1, w)
        scores = scores.masked_fill(~window_mask, torch.finfo(scores.dtype).min)
        weights = scores.softmax(-1) * window_mask  # fully padded windows pool to zeros
        pooled = torch.einsum("bghw,bgwhd->bghd", weights, values).reshape(batch, groups, dim)
        memory = self.content_norm(self.out(pooled))
        memory_mask = mask.view(batch, groups, w)[:, :, 0]
        memory = memory + sinusoidal_positions(groups, memory.shape[-1], memory.device).to(memory.dtype)
        if self.refine is not None:
            memory = self.refine(memory, src_key_padding_mask=~memory_mask)
        return self.norm(memory) * memory_mask[..., None], memory_mask
