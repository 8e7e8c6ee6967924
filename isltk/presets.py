"""The registry of named model presets: each a partial config (model shape and the frame size it is
built for), in one place. A YAML config starts from one with `preset: NAME` and adds what is its own
(data paths, training); `isltk.models.presets` builds their models, and one parametrized test builds,
runs forward and backward every preset registered here.

Kept as plain mappings, below `isltk.config`, so that the config loader can resolve `preset:` without
importing the models.
"""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    # Trains on 2 CPU cores in minutes on the simple synthetic corpus (configs/tiny.yaml).
    "tiny": {
        "data": {"image_size": 48, "num_frames": 16, "cache_frames": 24},
        "encoder": {"vit_hidden_dim": 64, "vit_num_heads": 4, "vit_num_layers": 2, "vit_mlp_dim": 256, "patch_size": 8},
        "temporal": {"normalization": "clip", "num_temporal_conv": 2, "hidden_dim": 128, "pool_heads": 4,
                     "num_refine_layers": 1, "dropout": 0.1},
        "decoder": {"hidden_dim": 128, "num_layers": 2, "num_heads": 4, "ff_dim": 256, "max_length": 16},
    },
    # The CPU model that learns realistic signing (configs/signing.yaml): clips sampled by time at 72 px, a ViT
    # whose max-pooling conv stem reads small hand shapes, the whole patch grid per frame, motion channels,
    # per-frame + change features (docs/model.md says why each).
    "signing": {
        "data": {"sample_fps": 8, "min_frames": 4, "max_frames": 96, "image_size": 72, "resize_mode": "crop"},
        "encoder": {"vit_hidden_dim": 96, "vit_num_heads": 4, "vit_num_layers": 2, "vit_mlp_dim": 192, "patch_size": 8,
                    "conv_stem": "pooled", "conv_stem_width": 12, "motion_channels": True, "frame_pool": "flatten",
                    "frame_dim": 256},
        "temporal": {"normalization": "frame_change", "num_temporal_conv": 2, "hidden_dim": 128,
                     "kernel_size": 5, "pool_heads": 4, "num_refine_layers": 1, "dropout": 0.1},
        "decoder": {"hidden_dim": 128, "num_layers": 2, "num_heads": 4, "ff_dim": 256, "max_length": 24},
    },
    # ViT-B/16-sized encoder (12 x 768 x 12, MLP 3072).
    "base": {"encoder": {"vit_hidden_dim": 768, "vit_num_heads": 12, "vit_num_layers": 12, "vit_mlp_dim": 3072}},
    # The seed's dense ViT: 24 x 1024 x 16, MLP 4096 (timm's ViT-L/16 shape), 224 px, 16 frames (the defaults).
    "dense_vit": {},
}
