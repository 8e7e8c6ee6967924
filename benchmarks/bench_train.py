"""Training-step throughput and MFU: the real step of `isltk train` (Trainer.train_step), measured.

    .venv/bin/python benchmarks/bench_train.py --preset tiny                      # CPU
    .venv/bin/python benchmarks/bench_train.py --config configs/a100.yaml --steps 20   # on a GPU
    .venv/bin/python benchmarks/bench_train.py --config configs/a100.yaml --set training.compile=true

Inputs are random uint8 frames in a temporary prepared cache (so nothing but the step is timed:
batches are loaded before the clock starts). FLOPs per clip come from torch.utils.flop_counter;
MFU divides achieved FLOP/s by the GPU's catalogued dense bf16/fp16 peak (the check-hardware table).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import catalog_gpu, synthetic_cache  # noqa: E402
from isltk.config import load_config  # noqa: E402
from isltk.models.presets import preset_config  # noqa: E402
from isltk.models.summary import summarize  # noqa: E402
from isltk.presets import PRESETS  # noqa: E402
from isltk.training.trainer import Trainer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--preset", choices=sorted(PRESETS), default=None)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        overrides = [f"data.prepared_dir={tmp}/prepared", f"training.runs_dir={tmp}/runs", "training.num_workers=0", *args.overrides]
        if args.preset:
            import yaml

            path = Path(tmp) / "preset.yaml"
            path.write_text(yaml.safe_dump(preset_config(args.preset).model_dump(mode="json")))
            overrides.append("training.device=cpu" if not torch.cuda.is_available() else "training.device=cuda")
        else:
            path = args.config or Path("configs/tiny.yaml")
        cfg = load_config(path, overrides)
        batch = cfg.training.batch_size
        synthetic_cache(cfg, batch * cfg.training.grad_accum_steps * 2)
        trainer = Trainer(cfg, Path(tmp) / "run")
        trainer.sampler.set_epoch(0)
        batches = list(iter(trainer._loader()))
        group = batches[: cfg.training.grad_accum_steps]
        device = trainer.device
        for _ in range(args.warmup):
            trainer.train_step(group)
        if device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        for _ in range(args.steps):
            trainer.train_step(group)
        if device.type == "cuda":
            torch.cuda.synchronize()
        step_s = (time.perf_counter() - start) / args.steps
    clips = batch * cfg.training.grad_accum_steps
    summary = summarize(trainer.model_cfg, cfg.data.num_frames, cfg.decoder.max_length - 1)
    tflops = summary.train_gflop_per_clip * clips / step_s / 1e3
    gpu = catalog_gpu(torch.cuda.get_device_name()) if device.type == "cuda" else None
    print(f"device: {torch.cuda.get_device_name() if device.type == 'cuda' else 'cpu'} | precision: "
          f"{str(trainer.step_settings.amp_dtype).replace('torch.', '') if trainer.step_settings.amp_dtype else 'fp32'} | compile: {cfg.training.compile}")
    print(f"model: {summary.parameters['total'] / 1e6:.1f}M parameters, {summary.train_gflop_per_clip:.1f} GFLOP per clip "
          f"(train step, {cfg.data.num_frames} frames at {cfg.data.image_size} px)")
    print(f"{'batch':>6}{'frames':>8}{'step ms':>10}{'clips/s':>10}{'images/s':>10}{'TFLOP/s':>10}{'MFU':>8}{'peak GiB':>10}")
    mfu = f"{tflops / gpu.peak_tflops:.1%}" if gpu else "n/a"
    peak = f"{torch.cuda.max_memory_reserved() / 2**30:.1f}" if device.type == "cuda" else "n/a"
    print(f"{clips:>6}{cfg.data.num_frames:>8}{step_s * 1e3:>10.1f}{clips / step_s:>10.1f}{clips * cfg.data.num_frames / step_s:>10.0f}"
          f"{tflops:>10.3f}{mfu:>8}{peak:>10}")
    if gpu:
        print(f"MFU against {gpu.name} peak {gpu.peak_tflops} TFLOP/s ({gpu.amp_dtype}, dense)")


if __name__ == "__main__":
    main()
