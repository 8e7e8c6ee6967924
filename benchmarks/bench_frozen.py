"""Frozen-backbone fast path: training clips/s with cached per-frame features vs running the frozen ViT every step.

    .venv/bin/python benchmarks/bench_frozen.py                 # base preset (ViT-B/16, 224 px) on CPU, ~3 min
    .venv/bin/python benchmarks/bench_frozen.py --preset tiny --steps 20

Both sides are the real `Trainer.train_step` of `isltk train` on the same random-frame cache, one run:
(a) `encoder.freeze_epochs` larger than the run (the ViT is frozen but runs forward on every frame of every
step), (b) `encoder.freeze_epochs: -1` (features computed once by `ensure_feature_cache`, then only the
temporal blocks and the decoder run). Batches are loaded before the clock starts. The one-off cost of
caching is printed too, as the number of steps it takes to pay back.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import synthetic_cache  # noqa: E402
from isltk.config import load_config  # noqa: E402
from isltk.models.presets import preset_config  # noqa: E402
from isltk.presets import PRESETS  # noqa: E402
from isltk.training.trainer import Trainer  # noqa: E402


def step_seconds(trainer: Trainer, steps: int, warmup: int) -> float:
    trainer.sampler.set_epoch(0)
    batches = list(iter(trainer._loader()))
    for _ in range(warmup):
        trainer.train_step(batches[:1])
    start = time.perf_counter()
    for i in range(steps):
        trainer.train_step([batches[i % len(batches)]])
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="base")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "preset.yaml"
        path.write_text(yaml.safe_dump(preset_config(args.preset).model_dump(mode="json")))
        common = [f"data.prepared_dir={tmp}/prepared", f"training.runs_dir={tmp}/runs", "training.num_workers=0",
                  f"training.batch_size={args.batch}", "training.device=cpu", "training.augmentation.spatial_jitter_px=0"]
        cfg = load_config(path, common)
        synthetic_cache(cfg, args.batch * 2)
        frozen = Trainer(load_config(path, [*common, "encoder.freeze_epochs=1000"]), Path(tmp) / "frozen")
        frozen.model.encoder.set_frozen(True)
        vit_s = step_seconds(frozen, args.steps, args.warmup)
        started = time.perf_counter()
        cached = Trainer(load_config(path, [*common, "encoder.freeze_epochs=-1"]), Path(tmp) / "cached")
        cache_s = time.perf_counter() - started
        cached_s = step_seconds(cached, args.steps, args.warmup)
    frames = cfg.data.num_frames
    print(f"preset {args.preset}: {frames} frames at {cfg.data.image_size} px, batch {args.batch}, CPU x{torch.get_num_threads()} threads")
    print(f"{'path':<38}{'step ms':>10}{'clips/s':>10}")
    print(f"{'frozen ViT run every step':<38}{vit_s * 1e3:>10.1f}{args.batch / vit_s:>10.2f}")
    print(f"{'cached features (freeze_epochs: -1)':<38}{cached_s * 1e3:>10.1f}{args.batch / cached_s:>10.2f}")
    print(f"speed-up: {vit_s / cached_s:.1f}x clips/s; caching {args.batch * 2} clips took {cache_s:.1f} s "
          f"(Trainer setup included), repaid after {cache_s / max(vit_s - cached_s, 1e-9):.1f} steps")


if __name__ == "__main__":
    main()
