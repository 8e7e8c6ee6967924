"""The frozen-backbone fast path: per-frame ViT features computed once, cached beside the frames.

When the ViT never trains (`encoder.freeze_epochs: -1`), running it on every frame of every step
only recomputes the same numbers. `ensure_feature_cache` runs it once per clip (eval mode, no
augmentation) and stores fp16 (frames, width) arrays under `<prepared_dir>/features/<fingerprint>/`;
training then runs the temporal blocks and the decoder only. The fingerprint covers everything
that fixes the features (backbone weights source, encoder shape, image size, pixel statistics,
the cache's frame settings, and the seed when the ViT is random), so a stale cache is never
reused. Each clip's file is written atomically and a final marker says the folder is complete:
an interrupted run resumes where it stopped.

Spatial jitter cannot apply to fixed features (temporal jitter still does). Evaluation and
`translate` run the full model, whose ViT holds the same weights.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from isltk.data.cache import FEATURES_DIR, clip_frames_path, load_manifest, settings_text, storage_format
from isltk.data.framestore import FrameFile
from isltk.fsutil import atomic_write, atomic_write_json
from isltk.models.translator import SignTranslator

COMPLETE = "complete.json"


def features_key(model: SignTranslator, prepared_dir: Path, seed: int) -> str:
    cfg = model.cfg
    settings = settings_text(prepared_dir)
    payload = {"encoder": cfg.encoder.model_dump(mode="json"), "image_size": cfg.image_size, "mean": cfg.pixel_mean,
               "std": cfg.pixel_std, "cache": settings, "seed": None if cfg.encoder.pretrained else seed}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


@torch.no_grad()
def ensure_feature_cache(model: SignTranslator, prepared_dir: Path, device: torch.device, seed: int,
                         on_clip: Callable[[int, int], None] | None = None, frames_per_pass: int = 256) -> Path:
    """Compute (or reuse) the per-frame features of every clip in the cache; returns their folder."""
    folder = prepared_dir / FEATURES_DIR / features_key(model, prepared_dir, seed)
    if (folder / COMPLETE).is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    records, fmt = load_manifest(prepared_dir), storage_format(prepared_dir)
    was_training = model.training
    model.eval()
    for done, record in enumerate(records, start=1):
        target = folder / f"{record['key']}.npy"
        if not target.is_file():
            clip = torch.from_numpy(FrameFile(clip_frames_path(prepared_dir, record["key"], fmt)).read())
            parts = []
            step = len(clip) if model.encoder.motion_channels else frames_per_pass  # motion needs the whole clip's mean
            for start in range(0, len(clip), step):
                frames = model.normalize(clip[None, start : start + step].to(device))
                parts.append(model.encoder(frames, torch.ones(frames.shape[:2], dtype=torch.bool, device=device))[0])
            features = torch.cat(parts).to(torch.float16).cpu().numpy()
            atomic_write(target, lambda handle, f=features: np.save(handle, f, allow_pickle=False))
        if on_clip:
            on_clip(done, len(records))
    model.train(was_training)
    atomic_write_json(folder / COMPLETE, {"clips": len(records)})
    return folder
