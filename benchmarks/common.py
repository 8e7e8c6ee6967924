"""Helpers shared by the benchmarks: a prepared cache of synthetic frames, GPU peak lookup."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from isltk.config import Config, load_config
from isltk.data import cache
from isltk.data.vocab import Vocabulary
from isltk.hardware.catalog import CATALOG, GPU


def signing_variant(variant: str) -> Config:
    """configs/signing.yaml with a variant's comma-separated overrides ("" = the preset as shipped)."""
    return load_config("configs/signing.yaml", [override for override in variant.split(",") if override])


def prepare_quietly(config: str, overrides: list[str]) -> None:
    """`isltk prepare` of the config with `--set` overrides, as a user runs it (a subprocess); its progress hidden."""
    sets = [arg for item in overrides for arg in ("--set", item)]
    subprocess.run([sys.executable, "-m", "isltk", "prepare", "-c", config, *sets], check=True, stdout=subprocess.DEVNULL)


def synthetic_cache(cfg: Config, clips: int, seed: int = 0) -> Path:
    """A prepared cache of random uint8 frames and short random sentences (benchmark inputs only)."""
    root = cfg.data.prepared_dir
    clips_dir = cache.clips_dir(root)
    clips_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(200)]
    size, frames = cfg.data.image_size, cfg.data.stored_frames
    records = []
    for i in range(clips):
        key = f"clip{i:05d}"
        np.save(cache.clip_frames_path(root, key, "npy"), rng.integers(0, 255, (frames, size, size, 3), dtype=np.uint8))
        text = " ".join(rng.choice(words, size=int(rng.integers(5, 15))))
        records.append({"id": key, "key": key, "text": text, "text_norm": text, "gloss": "", "frames": frames, "split": "train"})
    (root / cache.SETTINGS_FILE).write_text(json.dumps({"format": cache.CACHE_FORMAT, "cache_format": "npy"}))
    (root / cache.MANIFEST_FILE).write_text(cache.manifest_text(records))
    (root / cache.VOCAB_FILE).write_text(Vocabulary.build([words]).to_json())
    (root / cache.SUMMARY_FILE).write_text(json.dumps({"format": cache.CACHE_FORMAT, "clips": clips}))
    return root


def catalog_gpu(device_name: str) -> GPU | None:
    """Map torch.cuda.get_device_name() (e.g. 'NVIDIA H100 80GB HBM3') to the catalogue entry whose
    name tokens all appear in it ('H100-80GB' -> H100, 80GB)."""
    present = set(re.split(r"[^0-9A-Z]+", device_name.upper()))
    for key, gpu in CATALOG.items():
        if set(re.split(r"[^0-9A-Z]+", key.upper())) <= present:
            return gpu
    return None


def headless_browser() -> str | None:
    """A headless Chromium on PATH (Debian: `apt-get install chromium-headless-shell`), or None."""
    import shutil

    return next((shutil.which(name) for name in ("chromium-headless-shell", "chromium", "google-chrome") if shutil.which(name)), None)


def open_in_browser(browser: str, page: Path, *flags: str) -> float:
    """Load `page` in the headless browser with `flags` (e.g. --screenshot=PATH); seconds until it exited."""
    import subprocess
    import time

    started = time.perf_counter()
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *flags, page.as_uri()],
                   check=True, capture_output=True, timeout=300)
    return time.perf_counter() - started
