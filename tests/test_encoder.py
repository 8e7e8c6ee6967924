"""The per-frame ViT (isltk/models/encoder.py): timm's shape, pretrained weights, pixel normalisation, the pooled stem."""

from pathlib import Path

import pytest
import torch

from isltk.errors import CheckpointError
from isltk.models.encoder import build_vit, load_pretrained
from isltk.models.presets import preset_model_config
from isltk.models.translator import ModelConfig, SignTranslator, build_model


def test_dense_vit_encoder_matches_timm_vit_large_exactly() -> None:
    import timm

    with torch.device("meta"):
        reference = timm.create_model("vit_large_patch16_224", pretrained=False, num_classes=0)
        ours = SignTranslator(preset_model_config("dense_vit")).encoder
    expected = sum(p.numel() for p in reference.parameters())
    assert sum(p.numel() for p in ours.parameters()) == expected == 303_301_632


def test_pretrained_vit_loads_from_local_files(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    cfg = preset_model_config("tiny")
    source = build_vit(cfg.encoder, cfg.image_size)
    state = {k: v.contiguous() for k, v in source.state_dict().items()}
    save_file(state, tmp_path / "vit.safetensors")
    torch.save({"model": state}, tmp_path / "vit.pth")
    for name in ("vit.safetensors", "vit.pth"):
        cfg_loaded = cfg.model_copy(update={"encoder": cfg.encoder.model_copy(update={"pretrained": str(tmp_path / name)})})
        model = build_model(cfg_loaded)
        torch.testing.assert_close(model.encoder.vit.blocks[0].attn.qkv.weight, source.blocks[0].attn.qkv.weight)
    wider = cfg.encoder.model_copy(update={"vit_hidden_dim": 128, "vit_mlp_dim": 512})
    with pytest.raises(CheckpointError, match="do not fit the configured ViT"):
        load_pretrained(build_vit(wider, cfg.image_size), str(tmp_path / "vit.safetensors"))


def test_pixel_normalisation_comes_from_the_pretrained_backbone() -> None:
    from isltk.config import Config

    def resolved(**encoder) -> ModelConfig:
        return ModelConfig.from_config(Config.model_validate({"encoder": encoder}), vocab_size=10, gloss_vocab_size=0)

    augreg = resolved(pretrained="vit_large_patch16_224.augreg_in21k_ft_in1k")  # read from timm's registry, no download
    assert augreg.pixel_mean == (0.5, 0.5, 0.5) and augreg.pixel_std == (0.5, 0.5, 0.5)
    clip = resolved(pretrained="vit_large_patch14_clip_224.openai")
    assert clip.pixel_mean[0] == pytest.approx(0.4815, abs=1e-4)
    assert resolved().pixel_mean == (0.485, 0.456, 0.406)  # from scratch: ImageNet's
    assert resolved(pixel_mean=(0.1, 0.2, 0.3), pixel_std=(1, 1, 1)).pixel_mean == (0.1, 0.2, 0.3)
    model = SignTranslator(augreg.model_copy(update={"encoder": preset_model_config("tiny").encoder, "image_size": 48}))
    normalised = model.normalize(torch.full((1, 1, 2, 2, 3), 255, dtype=torch.uint8))
    torch.testing.assert_close(normalised, torch.ones_like(normalised))  # (1 - 0.5) / 0.5
    assert ModelConfig.model_validate_json(augreg.model_dump_json()) == augreg  # stored in checkpoints as is


def test_offline_timm_tag_is_a_one_line_error_naming_the_local_file_option() -> None:
    import os
    import subprocess
    import sys

    code = ("from isltk.models.encoder import build_vit, load_pretrained\n"
            "from isltk.models.presets import preset_model_config\n"
            "cfg = preset_model_config('tiny')\n"
            "try:\n    load_pretrained(build_vit(cfg.encoder, 48), 'vit_tiny_patch16_224.augreg_in21k_ft_in1k')\n"
            "except Exception as exc:\n    print(type(exc).__name__, exc)\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120).stdout.strip()
    assert out.startswith("CheckpointError") and "\n" not in out
    assert "encoder.pretrained=/path/to/vit.safetensors" in out


def test_pooled_conv_stem_keeps_the_patch_grid_and_needs_patches_of_8() -> None:
    from isltk.config import EncoderConfig
    from isltk.models.encoder import PooledConvStemPatchEmbed

    encoder = EncoderConfig(vit_hidden_dim=32, vit_num_heads=2, vit_num_layers=1, vit_mlp_dim=64, patch_size=8,
                            conv_stem="pooled", conv_stem_width=8, frame_pool="flatten", frame_dim=24)
    vit = build_vit(encoder, 48)
    assert isinstance(vit.patch_embed, PooledConvStemPatchEmbed)
    assert vit.patch_embed(torch.randn(2, 3, 48, 48)).shape == (2, 36, 32)  # a 6 x 6 grid of 8 px patches
    with pytest.raises(ValueError, match="divisible by 8"):
        EncoderConfig(patch_size=4, conv_stem="pooled")
    EncoderConfig(patch_size=4)  # timm's one-conv patch embedding takes any patch size


def test_explicit_attention_computes_what_the_fused_kernel_does() -> None:
    """encoder.fused_attention false (the gpu-check lever's off side) is the same function, not another model."""
    from isltk.models.encoder import VideoEncoder

    cfg = preset_model_config("tiny").encoder
    fused = VideoEncoder(cfg, 32)
    explicit = VideoEncoder(cfg.model_copy(update={"fused_attention": False}), 32)
    explicit.load_state_dict(fused.state_dict())
    flags = {m.fused_attn for m in explicit.vit.modules() if hasattr(m, "fused_attn")}
    assert flags == {False} and {m.fused_attn for m in fused.vit.modules() if hasattr(m, "fused_attn")} == {True}
    frames, mask = torch.randn(2, 3, 3, 32, 32), torch.ones(2, 3, dtype=torch.bool)
    fused.eval(), explicit.eval()
    torch.testing.assert_close(explicit(frames, mask), fused(frames, mask), atol=1e-5, rtol=1e-5)
