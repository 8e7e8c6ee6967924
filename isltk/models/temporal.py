"""Temporal modelling over per-frame features: dense temporal conv blocks, then attention pooling
into a shorter sequence of memory tokens refined by self-attention.

Why pool over time (not over patches): the ViT's CLS/avg pool already summarises each frame; what
the decoder needs is *when* things happen, so we keep a sequence and only shorten it (by
`pool_window`, 2× by default), like Sign Language Transformers and GFSLT-VLP. Each
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
from isltk.models.masked import clip_mean


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
    mean, count = clip_mean(x, weights)
    var = ((x - mean) ** 2 * weights).sum(1, keepdim=True) / count
    return (x - mean) * torch.rsqrt(var + eps) * weights


class RunningStandardize(nn.Module):
    """Per-channel standardisation with dataset statistics (BatchNorm's running mean/var, masked).

    Training uses the statistics of the rows given (valid rows only) and updates the running ones;
    evaluation uses the running ones, so a clip's output at test time depends on nothing else."""

    def __init__(self, dim: int, momentum: float = 0.1, eps: float = 1e-5, center: bool = True) -> None:
        super().__init__()
        self.momentum, self.eps, self.center = momentum, eps, center
        self.register_buffer("running_mean", torch.zeros(dim))
        self.register_buffer("running_var", torch.ones(dim))

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """x (..., D), weights (..., 1) in {0, 1}: standardised x (rows with weight 0 come out as 0).

        Under torch.distributed the batch statistics are summed over all ranks (like SyncBatchNorm), so
        2 GPUs x 8 clips compute what 1 GPU x 16 clips does."""
        if self.training:
            rows = tuple(range(x.dim() - 1))
            sums = torch.cat([(x * weights).sum(rows), (x * x * weights).sum(rows), weights.sum().reshape(1)])
            if torch.distributed.is_available() and torch.distributed.is_initialized():
                import warnings

                from torch.distributed.nn.functional import all_reduce

                with warnings.catch_warnings():  # its deprecation names a replacement without autograd
                    warnings.simplefilter("ignore", FutureWarning)
                    sums = all_reduce(sums)  # differentiable: gradients flow back to every rank's rows
            dim = x.shape[-1]
            count = sums[-1].clamp_min(1.0)
            mean = sums[:dim] / count if self.center else torch.zeros_like(self.running_mean)
            var = (sums[dim : 2 * dim] / count - mean * mean).clamp_min(0.0)
            with torch.no_grad():
                self.running_mean.lerp_(mean.detach(), self.momentum)
                self.running_var.lerp_(var.detach(), self.momentum)
        else:
            mean, var = (self.running_mean if self.center else torch.zeros_like(self.running_mean)), self.running_var
        return (x - mean) * torch.rsqrt(var + self.eps) * weights


class FrameFeatureNorm(nn.Module):
    """What the temporal blocks see of each frame's features (`temporal.normalization`).

    Per-frame ViT features of a clip share a large static part (signer, clothes, background); the sign
    is a small part of them. Learning is fast only when that small part is brought to unit scale.
    - `clip`: standardise each channel over the clip's own frames (`normalize_over_time`). Motion stands
      out, but whatever is held still (a greeting's hand shape, a location) is erased: two different
      still clips give the same output, and channels that barely move are blown up to unit scale.
    - `both` (default): two halves side by side. *What is held*: the clip's mean feature, standardised
      with dataset statistics (running mean/var), so what tells clips apart (incl. a still hand shape)
      is at unit scale. *What changes*: each frame's deviation from the clip mean, divided by the
      dataset's typical deviation (running, not the clip's own), so motion is at unit scale while a
      still clip's noise stays small. At test time it uses running statistics only: a clip's output
      does not depend on the batch, on padding or on the number of GPUs.
    - `frame_change`: like `both`, but the first half is *each frame's* feature standardised with dataset
      statistics, not the clip mean. What a frame shows (a hand shape at a place) then reads the same
      whether it is held for the whole clip (a greeting) or passes in a sentence, so the many sentence
      clips teach the reading the few held clips need; the change half still brings motion to unit scale.

    `change_keep` (B,) in {0, 1} zeroes the change half of the clips marked 0 (motion dropout in training).
    """

    def __init__(self, dim: int, mode: str) -> None:
        super().__init__()
        self.mode = mode
        split = mode in ("both", "frame_change")
        self.held = RunningStandardize(dim) if split else None
        self.change = RunningStandardize(dim, center=False) if split else None
        self.out_dim = 2 * dim if split else dim

    def forward(self, x: torch.Tensor, mask: torch.Tensor, change_keep: torch.Tensor | None = None) -> torch.Tensor:
        if self.mode == "clip":
            return normalize_over_time(x, mask).to(x.dtype)
        x = x.float()  # statistics in fp32 even under autocast
        weights = mask[..., None].float()
        mean, count = clip_mean(x, weights)
        if self.mode == "frame_change":
            held = self.held(x, weights)
        else:
            held = self.held(mean, (count > 0).float() * weights.amax(1, keepdim=True)).expand_as(x) * weights
        change = self.change(x - mean, weights)
        if change_keep is not None:
            change = change * change_keep.to(change.dtype)[:, None, None]
        return torch.cat([held, change], dim=-1)


class TemporalConvBlock(nn.Module):
    """Conv over time -> LayerNorm -> GELU -> dropout, with a residual path; keeps the frame rate (the
    sequence is shortened once, by attention pooling)."""

    def __init__(self, dim: int, kernel_size: int, dropout: float) -> None:
        super().__init__()
        self.conv = nn.Conv1d(dim, dim, kernel_size, padding=kernel_size // 2)
        self.norm = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = x * mask[..., None]  # padded frames contribute zeros, exactly like the conv's own padding
        y = self.conv(x.transpose(1, 2)).transpose(1, 2)
        return x + self.dropout(F.gelu(self.norm(y)))


class DenseTemporalBlocks(nn.Module):
    def __init__(self, in_dim: int, cfg: TemporalConfig) -> None:
        super().__init__()
        dim = cfg.hidden_dim or in_dim
        self.input_norm = FrameFeatureNorm(in_dim, cfg.normalization)
        norm_dim = self.input_norm.out_dim
        self.proj = nn.Linear(norm_dim, dim) if dim != norm_dim else nn.Identity()
        self.blocks = nn.ModuleList(
            TemporalConvBlock(dim, cfg.kernel_size, cfg.dropout) for _ in range(cfg.num_temporal_conv)
        )
        self.out_dim = dim

    def forward(self, x: torch.Tensor, mask: torch.Tensor, change_keep: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.proj(self.input_norm(x, mask, change_keep))
        for block in self.blocks:
            x = block(x, mask)
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
