"""Named model presets: one registry, exercised by one parametrized test (tests/test_models.py).

`tiny` is the model part of configs/tiny.yaml (a test keeps the two equal); `dense_vit` is the seed's design.
"""

from __future__ import annotations

from collections.abc import Callable

from isltk.config import Config
from isltk.models.translator import ModelConfig

PRESETS: dict[str, Callable[[], Config]] = {}


def register_preset(fn: Callable[[], Config]) -> Callable[[], Config]:
    PRESETS[fn.__name__] = fn
    return fn


@register_preset
def tiny() -> Config:
    """Trains on 2 CPU cores in minutes (configs/tiny.yaml)."""
    return Config.model_validate({
        "data": {"image_size": 48, "num_frames": 16, "cache_frames": 24},
        "encoder": {"vit_hidden_dim": 64, "vit_num_heads": 4, "vit_num_layers": 2, "vit_mlp_dim": 256, "patch_size": 8},
        "temporal": {"normalization": "clip", "num_temporal_conv": 2, "hidden_dim": 128, "pool_heads": 4,
                     "num_refine_layers": 1, "dropout": 0.1},
        "decoder": {"hidden_dim": 128, "num_layers": 2, "num_heads": 4, "ff_dim": 256, "max_length": 16},
    })


@register_preset
def base() -> Config:
    """ViT-B/16-sized encoder (12 x 768 x 12, MLP 3072)."""
    return Config.model_validate({"encoder": {"vit_hidden_dim": 768, "vit_num_heads": 12, "vit_num_layers": 12, "vit_mlp_dim": 3072}})


@register_preset
def dense_vit() -> Config:
    """The seed's dense ViT: 24 x 1024 x 16, MLP 4096 (timm's ViT-L/16 shape)."""
    return Config()


def preset_model_config(name: str, vocab_size: int = 1000) -> ModelConfig:
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
    return ModelConfig.from_config(PRESETS[name](), vocab_size)
