"""The training objective, in one place: label-smoothed translation cross-entropy plus the gloss losses:
on the temporal features a CTC gloss-recognition loss where the labels are real glosses (signing order),
a multiple-instance loss where they are pseudo-glosses (`isltk.data.supervision`); and multiple-instance
losses on the frame features and on the decoder's memory tokens.

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
    gloss: torch.Tensor | None  # summed temporal gloss loss (CTC, or multiple-instance for pseudo-glosses; nats), or None
    frame_gloss: torch.Tensor | None = None  # summed per-frame (multiple-instance) gloss loss (nats), or None
    memory_gloss: torch.Tensor | None = None  # summed per-memory-token (multiple-instance) gloss loss (nats), or None


def gloss_ctc(output: TranslatorOutput, glosses: torch.Tensor, gloss_lengths: torch.Tensor) -> torch.Tensor:
    """Summed CTC loss (blank = 0) of the clips that have glosses; clips without any contribute nothing."""
    assert output.gloss_logits is not None
    log_probs = output.gloss_logits.float().log_softmax(-1).transpose(0, 1)  # (T', B, G)
    input_lengths = output.feature_mask.sum(1)
    per_clip = F.ctc_loss(log_probs, glosses, input_lengths, gloss_lengths, blank=0, reduction="none", zero_infinity=True)
    return (per_clip * (gloss_lengths > 0)).sum()


def gloss_mil(step_logits: torch.Tensor, step_mask: torch.Tensor, glosses: torch.Tensor, gloss_lengths: torch.Tensor) -> torch.Tensor:
    """Summed multiple-instance loss of the clips that have glosses, from per-step gloss logits (B, T, G) (frames
    or memory tokens): for every gloss class, a soft maximum of the steps' logits (log-mean-exp over time) says
    whether the clip holds that sign (binary cross-entropy, summed over the classes). A sign in a sentence is
    found by the steps it occupies without any alignment, as a max would; unlike a max, whose gradient reaches
    one step per class, every frame of a held sign is trained, in proportion to how strongly it names the
    sign. The blank class (0) takes no part."""
    valid = step_mask[..., None]
    steps = valid.sum(1).clamp_min(1).float()
    logits = step_logits.float().masked_fill(~valid, float("-inf")).logsumexp(1) - steps.log()
    present = torch.zeros_like(logits).scatter_(1, glosses, 1.0)  # gloss padding is 0, the blank: dropped next
    logits, present = logits[:, 1:], present[:, 1:]
    per_clip = F.binary_cross_entropy_with_logits(logits, present, reduction="none").sum(1)
    return (per_clip * (gloss_lengths > 0)).sum()


def objective(output: TranslatorOutput, tokens: torch.Tensor, label_smoothing: float, glosses: torch.Tensor | None = None,
              gloss_lengths: torch.Tensor | None = None, gloss_weight: float = 0.0, frame_gloss_weight: float = 0.0,
              memory_gloss_weight: float = 0.0) -> Objective:
    translation, count = sequence_loss(output.logits, tokens[:, 1:], PAD_ID, label_smoothing)
    gloss = frame_gloss = memory_gloss = None
    has_glosses = glosses is not None and gloss_lengths is not None
    if output.gloss_logits is not None and has_glosses and gloss_weight > 0:
        gloss = (gloss_ctc(output, glosses, gloss_lengths) if output.ordered_glosses
                 else gloss_mil(output.gloss_logits, output.feature_mask, glosses, gloss_lengths))
    if output.frame_gloss_logits is not None and output.frame_mask is not None and has_glosses and frame_gloss_weight > 0:
        frame_gloss = gloss_mil(output.frame_gloss_logits, output.frame_mask, glosses, gloss_lengths)
    if output.memory_gloss_logits is not None and output.memory_mask is not None and has_glosses and memory_gloss_weight > 0:
        memory_gloss = gloss_mil(output.memory_gloss_logits, output.memory_mask, glosses, gloss_lengths)
    total = translation
    for loss, weight in ((gloss, gloss_weight), (frame_gloss, frame_gloss_weight), (memory_gloss, memory_gloss_weight)):
        if loss is not None:
            total = total + weight * loss
    return Objective(total, translation, count, gloss, frame_gloss, memory_gloss)
