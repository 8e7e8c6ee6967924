"""The temporal blocks (isltk/models/temporal.py): what a still clip keeps under each normalisation."""


import pytest
import torch

from isltk.models.presets import preset_model_config
from isltk.models.translator import SignTranslator


def static_clip(frame: torch.Tensor, frames: int) -> torch.Tensor:
    return frame[None, None].expand(1, frames, *frame.shape).clone()


@pytest.mark.parametrize("normalization", ["both", "frame_change"])
def test_different_static_clips_give_different_memory(normalization: str) -> None:
    """A handshape held still must reach the decoder: two different still clips -> different memory."""
    torch.manual_seed(0)
    cfg = preset_model_config("tiny", vocab_size=20)
    cfg = cfg.model_copy(update={"temporal": cfg.temporal.model_copy(update={"normalization": normalization})})
    model = SignTranslator(cfg).eval()
    a, b = torch.randn(2, 3, 48, 48)
    for frames in (1, 6):
        mask = torch.ones(1, frames, dtype=torch.bool)
        memory_a, _ = model.forward_features(static_clip(a, frames), mask)
        memory_b, _ = model.forward_features(static_clip(b, frames), mask)
        assert (memory_a - memory_b).abs().mean() > 0.05


def test_per_clip_normalisation_alone_erases_still_clips() -> None:
    """Why `clip` is not the default: it maps every still clip to the same memory."""
    torch.manual_seed(0)
    cfg = preset_model_config("tiny", vocab_size=20)
    cfg = cfg.model_copy(update={"temporal": cfg.temporal.model_copy(update={"normalization": "clip"})})
    model = SignTranslator(cfg).eval()
    a, b = torch.randn(2, 3, 48, 48)
    mask = torch.ones(1, 4, dtype=torch.bool)
    memory_a, _ = model.forward_features(static_clip(a, 4), mask)
    memory_b, _ = model.forward_features(static_clip(b, 4), mask)
    assert (memory_a - memory_b).abs().max() < 1e-4


