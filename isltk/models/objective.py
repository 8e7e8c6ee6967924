"""The training objective, in one place: label-smoothed translation cross-entropy plus, where the data
has glosses and `training.gloss_loss_weight` > 0, a CTC gloss-recognition loss on the temporal features.

The trainer, the memory trace (`hardware/memory.py`) and the GPU probe (`hardware/probe.py`) all call
`objective`, so what they measure is the step that trains.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from isltk.models.decoder import sequence_loss
from isltk.models.translator import PAD_ID, TranslatorOutput


@dataclass
class Objective:
    total: torch.Tensor  # summed translation loss + weight x summed gloss loss: normalise by the token count
    translation: torch.Tensor  # summed translation cross-entropy (nats)
    tokens: torch.Tensor  # target tokens counted
    gloss: torch.Tensor | None  # summed CTC loss over clips that have glosses (nats), or None


def gloss_ctc(output: TranslatorOutput, glosses: torch.Tensor, gloss_lengths: torch.Tensor) -> torch.Tensor:
    """Summed CTC loss (blank = 0) of the clips that have glosses; clips without any contribute nothing."""
    assert output.gloss_logits is not None
    log_probs = output.gloss_logits.float().log_softmax(-1).transpose(0, 1)  # (T', B, G)
    input_lengths = output.feature_mask.sum(1)
    per_clip = F.ctc_loss(log_probs, glosses, input_lengths, gloss_lengths, blank=0, reduction="none", zero_infinity=True)
    return (per_clip * (gloss_lengths > 0)).sum()


def objective(output: TranslatorOutput, tokens: torch.Tensor, label_smoothing: float, glosses: torch.Tensor | None = None,
              gloss_lengths: torch.Tensor | None = None, gloss_weight: float = 0.0) -> Objective:
    translation, count = sequence_loss(output.logits, tokens[:, 1:], PAD_ID, label_smoothing)
    gloss = None
    if output.gloss_logits is not None and glosses is not None and gloss_lengths is not None and gloss_weight > 0:
        gloss = gloss_ctc(output, glosses, gloss_lengths)
    total = translation if gloss is None else translation + gloss_weight * gloss
    return Objective(total, translation, count, gloss)
