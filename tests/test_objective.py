"""The training objective (isltk/models/objective.py): translation plus the gloss heads' losses."""


import pytest
import torch

from isltk.models.objective import objective
from isltk.models.presets import preset_model_config
from isltk.models.translator import BOS_ID, EOS_ID, SignTranslator, TranslatorOutput
from tests.conftest import clip_batch


def test_gloss_ctc_loss_counts_only_clips_with_glosses() -> None:
    torch.manual_seed(0)
    cfg = preset_model_config("tiny", vocab_size=20).model_copy(update={"gloss_vocab_size": 9, "gloss_heads": ("temporal",)})
    model = SignTranslator(cfg).eval()  # eval: no dropout, running statistics (a clip's output is batch-independent)
    video, mask = clip_batch(2, 8)
    tokens = torch.tensor([[BOS_ID, 5, 6, EOS_ID], [BOS_ID, 7, EOS_ID, 0]])
    glosses, lengths = torch.tensor([[4, 5, 6], [0, 0, 0]]), torch.tensor([3, 0])
    output = model(video, mask, tokens)
    assert list(output.glosses) == ["temporal"] and output.glosses["temporal"].logits.shape[-1] == 9
    weights = {"temporal": 1.0}
    both = objective(output, tokens, 0.0, glosses, lengths, weights)
    first = objective(model(video[:1], mask[:1], tokens[:1]), tokens[:1], 0.0, glosses[:1], lengths[:1], weights)
    assert both.glosses["temporal"].item() > 0
    torch.testing.assert_close(both.glosses["temporal"], first.glosses["temporal"])  # the clip without glosses adds nothing
    both.total.backward()
    assert model.gloss_heads["temporal"].weight.grad is not None and model.encoder.vit.patch_embed.proj.weight.grad is not None


def test_frame_gloss_loss_names_each_gloss_by_its_best_frames() -> None:
    """Multiple-instance semantics: a gloss is 'present' when any valid frame names it; padded frames and the
    blank take no part; clips without glosses add nothing."""
    from isltk.models.objective import gloss_mil

    frames, classes = 5, 4  # class 0 is the CTC blank
    logits = torch.full((2, frames, classes), -8.0)
    logits[0, 2, 2] = 8.0  # clip 0 shows gloss 2 in one frame only
    logits[0, 4, 3] = 8.0  # ... and gloss 3 in a padded frame, which must not count
    mask = torch.ones(2, frames, dtype=torch.bool)
    mask[0, 4] = False
    glosses = torch.tensor([[2, 3], [0, 0]])
    loss = gloss_mil(logits, mask, glosses, torch.tensor([2, 0]))
    # gloss 2 right (~0 nats), gloss 1 rightly absent (~0), gloss 3 missed: its best valid frame says -8 (~8 nats)
    assert loss.item() == pytest.approx(8.0, abs=0.01)
    logits[0, 3, 3] = 8.0  # now a valid frame names gloss 3 as well
    assert gloss_mil(logits, mask, glosses, torch.tensor([2, 0])).item() < 0.01
    logits[1, :, 1] = 8.0  # a clip without glosses contributes nothing, whatever its frames say
    assert gloss_mil(logits, mask, glosses, torch.tensor([2, 0])).item() < 0.01


def test_frame_gloss_loss_trains_every_frame_of_a_held_sign() -> None:
    """A held sign (nearly the same frame throughout) gets its gradient spread over all of its frames, not on
    one frame per class as a max over time would give."""
    from isltk.models.objective import gloss_mil

    torch.manual_seed(0)
    logits = (0.1 * torch.randn(1, 6, 3)).requires_grad_()  # frames alike up to noise: no ties
    mask = torch.ones(1, 6, dtype=torch.bool)
    gloss_mil(logits, mask, torch.tensor([[2]]), torch.tensor([1])).backward()
    assert logits.grad is not None
    shares = logits.grad[0, :, 1:].abs() / logits.grad[0, :, 1:].abs().sum(0)
    assert (shares > 0.1).all()  # every frame gets about a sixth, for the present gloss and the absent one


def gloss_head_step(*heads: str) -> tuple[SignTranslator, TranslatorOutput, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The tiny model with the given gloss heads, one teacher-forced step on two clips: (model, output, tokens,
    glosses, gloss lengths)."""
    torch.manual_seed(0)
    cfg = preset_model_config("tiny", vocab_size=20).model_copy(update={"gloss_vocab_size": 9, "gloss_heads": heads})
    model = SignTranslator(cfg).eval()
    video, mask = clip_batch(2, 6)
    tokens = torch.tensor([[BOS_ID, 5, 6, EOS_ID], [BOS_ID, 7, EOS_ID, 0]])
    return model, model(video, mask, tokens), tokens, torch.tensor([[4, 5], [6, 0]]), torch.tensor([2, 1])


def test_frame_gloss_head_trains_the_frame_encoder_directly() -> None:
    model, output, tokens, glosses, lengths = gloss_head_step("frame")
    assert output.glosses["frame"].logits.shape == (2, 6, 9)
    without = objective(output, tokens, 0.0, glosses, lengths, {"temporal": 1.0})
    result = objective(output, tokens, 0.0, glosses, lengths, {"temporal": 1.0, "frame": 0.5})
    assert "frame" not in without.glosses and result.glosses["frame"].item() > 0
    torch.testing.assert_close(result.total, without.total + 0.5 * result.glosses["frame"])
    model.zero_grad()
    result.glosses["frame"].backward()  # the frame loss alone reaches the ViT, not through the temporal blocks
    assert model.gloss_heads["frame"].weight.grad is not None and model.encoder.vit.patch_embed.proj.weight.grad is not None
    assert all(p.grad is None for p in model.temporal.parameters())


def test_memory_gloss_head_trains_what_the_decoder_reads() -> None:
    model, output, tokens, glosses, lengths = gloss_head_step("memory")
    memory = output.glosses["memory"]
    assert memory.logits.shape == (*memory.mask.shape, 9)
    without = objective(output, tokens, 0.0, glosses, lengths, {"temporal": 1.0})
    result = objective(output, tokens, 0.0, glosses, lengths, {"temporal": 1.0, "memory": 0.5})
    assert "memory" not in without.glosses and result.glosses["memory"].item() > 0
    torch.testing.assert_close(result.total, without.total + 0.5 * result.glosses["memory"])
    model.zero_grad()
    result.glosses["memory"].backward()  # through the pooling and temporal blocks to the ViT; the decoder is not involved
    assert model.pooling.out.weight.grad is not None and model.encoder.vit.patch_embed.proj.weight.grad is not None
    assert all(p.grad is None for p in model.decoder.parameters())


