"""How far a clip's encoding lies from the clips the model was validated on: a warning, not a verdict.

A translator always answers with a fluent sentence, even for a black clip, a still photograph or a test
pattern ("Tomorrow she will like the book"). Its decoder cannot say "I see no signing", but the encoder's
memory for such input lies far from where signing clips put it. At every validation the trainer fits a
diagonal Gaussian to the validation clips' memory (each clip's memory tokens averaged) and stores it in the
checkpoint; `translate` and `evaluate` measure a new clip's mean squared z-score against it and warn when it
exceeds the largest one seen on the validation split by a margin. Validation clips are by unseen signers
where the corpus has them, so another signer alone does not raise the warning.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch

from isltk.models.masked import clip_mean

# A clip is called unfamiliar beyond this multiple of the farthest validation clip's distance.
MARGIN = 2.0
MIN_CLIPS = 3  # a spread of the other clips needs two at least


def clip_vectors(memory: torch.Tensor, memory_mask: torch.Tensor) -> torch.Tensor:
    """(B, D) float32: each clip's valid memory tokens averaged."""
    mean, _ = clip_mean(memory.float(), memory_mask[..., None].float())
    return mean[:, 0]


def leave_one_out_distances(vectors: torch.Tensor) -> torch.Tensor:
    """(N,) each clip's mean squared z-score under the Gaussian of the *other* clips: what a new clip from the
    validation clips' distribution scores. A clip's distance to statistics that include it is too small, the
    more so the fewer the clips (a small validation split would put the threshold below ordinary clips)."""
    n = vectors.shape[0]
    total, squares = vectors.sum(0), (vectors**2).sum(0)
    others_mean = (total - vectors) / (n - 1)
    others_var = ((squares - vectors**2) - (n - 1) * others_mean**2) / max(n - 2, 1)
    return ((vectors - others_mean) ** 2 / others_var.clamp_min(1e-12)).mean(1)


@dataclass(frozen=True)
class Familiarity:
    mean: list[float]  # per memory dimension, over the validation clips
    std: list[float]
    threshold: float  # distances above this are called unfamiliar (MARGIN x the farthest validation clip)

    @classmethod
    def fit(cls, vectors: torch.Tensor) -> Familiarity | None:
        """From the validation clips' vectors (N, D); None with fewer than MIN_CLIPS."""
        if vectors.shape[0] < MIN_CLIPS:
            return None
        vectors = vectors.double()
        mean, std = vectors.mean(0), vectors.std(0).clamp_min(1e-6)
        return cls(mean.tolist(), std.tolist(), MARGIN * float(leave_one_out_distances(vectors).max()))

    def distance(self, vectors: torch.Tensor) -> list[float]:
        """Mean squared z-score of each clip's vector (about 1 for a typical validation clip)."""
        mean = torch.tensor(self.mean, dtype=torch.float64, device=vectors.device)
        std = torch.tensor(self.std, dtype=torch.float64, device=vectors.device)
        return (((vectors.double() - mean) / std) ** 2).mean(1).tolist()

    def warning(self, distance: float) -> str:
        """The per-clip warning, or "" for a clip like the validation clips."""
        if distance <= self.threshold:
            return ""
        return (f"unlike the clips this model was validated on (distance {distance:.1f}, at most {self.threshold:.1f} "
                "expected): is there a signer in view? The sentence may be made up")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Familiarity | None:
        return None if not data else cls(list(data["mean"]), list(data["std"]), float(data["threshold"]))
