"""Autoregressive Transformer decoder over the temporal memory tokens, with a tied output projection."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from isltk.config import DecoderConfig


class SentenceDecoder(nn.Module):
    def __init__(self, cfg: DecoderConfig, vocab_size: int, pad_id: int = 0) -> None:
        super().__init__()
        self.token_embedding = nn.Embedding(vocab_size, cfg.hidden_dim, padding_idx=pad_id)
        self.position_embedding = nn.Embedding(cfg.max_length, cfg.hidden_dim)
        layer = nn.TransformerDecoderLayer(cfg.hidden_dim, cfg.num_heads, cfg.ff_dim, cfg.dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.layers = nn.TransformerDecoder(layer, cfg.num_layers)
        self.norm = nn.LayerNorm(cfg.hidden_dim)
        self.scale = math.sqrt(cfg.hidden_dim)
        self.pad_id = pad_id
        nn.init.normal_(self.token_embedding.weight, std=cfg.hidden_dim**-0.5)
        nn.init.normal_(self.position_embedding.weight, std=0.02)

    def forward(self, tokens: torch.Tensor, memory: torch.Tensor, memory_mask: torch.Tensor) -> torch.Tensor:
        """tokens (B, L) starting with BOS -> logits (B, L, V) predicting the next token at each position."""
        length = tokens.shape[1]
        positions = torch.arange(length, device=tokens.device)
        x = self.token_embedding(tokens) * self.scale + self.position_embedding(positions)
        causal = torch.triu(torch.ones(length, length, dtype=torch.bool, device=tokens.device), diagonal=1)
        x = self.layers(x, memory, tgt_mask=causal, tgt_key_padding_mask=tokens == self.pad_id,
                        memory_key_padding_mask=~memory_mask, tgt_is_causal=True)
        return F.linear(self.norm(x), self.token_embedding.weight)  # tied with the input embedding


def sequence_loss(logits: torch.Tensor, targets: torch.Tensor, pad_id: int, label_smoothing: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed label-smoothed cross-entropy over non-pad targets, and their count (normalise outside,
    so gradient accumulation and multi-GPU averages weigh every token equally)."""
    logprobs = logits.float().flatten(0, 1).log_softmax(-1)
    targets = targets.flatten()
    valid = targets != pad_id
    nll = -logprobs.gather(1, targets.clamp_min(0)[:, None]).squeeze(1)
    if label_smoothing > 0:
        # the smoothing mass goes to every class but PAD (as in signjoey): PAD is never a word to hedge towards
        uniform = -(logprobs.sum(-1) - logprobs[:, pad_id]) / (logprobs.shape[-1] - 1)
        nll = (1.0 - label_smoothing) * nll + label_smoothing * uniform
    return (nll * valid).sum(), valid.sum()
