"""Named model presets as configs and model configs; the registry itself is `isltk.presets.PRESETS`."""

from __future__ import annotations

from isltk.config import Config, validate_config
from isltk.models.translator import ModelConfig
from isltk.presets import PRESETS


def preset_config(name: str) -> Config:
    """The full config of a preset (defaults for everything the preset does not set)."""
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
    return validate_config({"preset": name}, f"preset {name}")


def preset_model_config(name: str, vocab_size: int = 1000, gloss_vocab_size: int = 0) -> ModelConfig:
    return ModelConfig.from_config(preset_config(name), vocab_size, gloss_vocab_size)
