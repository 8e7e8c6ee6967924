"""The training objective, in one place: label-smoothed translation cross-entropy plus the gloss losses:
on the temporal features a CTC gloss-recognition loss where the labels are real glosses (signing order),
a multiple-instance loss where they are pseudo-glosses (`isltk.data.supervision`); and multiple-instance
losses on the frame features and on the decoder's memory tokens.

The trainer, the memory trace (`hardware/memory.py`) and the GPU probe (`hardware/probe.py`) all call
`objective`, so what they measure is the step that trains.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from isltk.models.decoder import sequence_loss
from isltk.models.translator import PAD_ID, TranslatorOutput


@dataclass
class Objective:
    total: torch.Tensor  # summed translation loss + the weighted summed gloss losses: normalise by the token count
    translation: torch.Tensor  # summed translation cross-entropy (nats)
    tokens: torch.Tensor  # target tokens counted
    glosses: dict[str, torch.Tensor] = field(default_factory=dict)  # summed gloss loss per head in use (nats)


def gloss_ctc(step_logits: torch.Tensor, step_mask: torch.Tensor, glosses: torch.Tensor, gloss_lengths: torch.Tensor) -> torch.Tensor:
    """Summed CTC loss (blank = 0) of the clips that have glosses; clips without any contribute nothing."""
    log_probs = step_logits.float().log_softmax(-1).transpose(0, 1)  # (T', B, G)
    input_lengths = step_mask.sum(1)
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
              gloss_lengths: torch.Tensor | None = None, gloss_weights: Mapping[str, float] | None = None) -> Objective:
    """The summed losses of a teacher-forced forward: translation, plus each gloss head's loss weighted by
    `gloss_weights` (training.gloss_losses; a head without a weight above 0 adds nothing)."""
    translation, count = sequence_loss(output.logits, tokens[:, 1:], PAD_ID, label_smoothing)
    total, terms = translation, {}
    if glosses is not None and gloss_lengths is not None:
        for name, (logits, mask) in output.glosses.items():
            weight = (gloss_weights or {}).get(name, 0.0)
            if weight <= 0:
                continue
            ctc = name == "temporal" and output.ordered_glosses
            terms[name] = (gloss_ctc if ctc else gloss_mil)(logits, mask, glosses, gloss_lengths)
            total = total + weight * terms[name]
    return Objective(total, translation, count, terms)
