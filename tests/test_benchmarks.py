"""Every benchmark script runs, at tiny sizes: a benchmark that crashes cannot measure anything.

Each smoke run is the real script (a subprocess, as a user runs it) with arguments that shrink its inputs;
the figures it prints at these sizes mean nothing, so only that it finishes and prints its result line is
checked. New benchmark scripts must be added here (a test fails on one that is not).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LEARNING_SETS = ["--set", "training.total_steps=2", "--set", "training.checkpoints.val_every_epochs=1", "--set", "training.batch_size=2"]

# script -> (arguments with {tmp} for a scratch folder, a piece of the last result line it prints)
SMOKE = {
    "bench_cache.py": (["--clips", "4", "--workers", "1", "--batches", "2", "--batch-size", "2"], "padding waste"),
    "bench_decode.py": (["--clips", "1", "--seconds", "0.5", "--size", "32"], "PyAV/OpenCV"),
    "bench_frozen.py": (["--preset", "tiny", "--steps", "1", "--warmup", "1"], "speed-up:"),
    "bench_gpu_check.py": (["--dry", "--out", "{tmp}"], "written:"),
    "bench_generalisation.py": (["--out", "{tmp}", "--clips", "6", "2", "2", "--set", "training.num_epochs=1",
                                 "--set", "training.batch_size=2"], "total"),
    "bench_hand_shape.py": (["--steps", "2", "--seeds", "0", "--variants", "data.keypoints=pose_files,data.hand_crop_px=16"], "forehead pair"),
    "bench_keypoints.py": (["--clips", "1", "--seconds", "0.5", "--workers", "1"], "prepare with keypoints / without"),
    "bench_learning.py": (["--out", "{tmp}", "--clips", "6", "2", "4", "--no-glosses", *LEARNING_SETS], "validation BLEU-4 by step"),
    "bench_inference.py": (["--preset", "tiny", "--batch", "2", "--frames", "4", "--repeats", "1", "--vocab", "50"], "beam 4 / beam 1"),
    "bench_loader.py": (["--clips", "2", "--copies", "16", "--cache", "{tmp}"], "loader / on-the-fly"),
    "bench_prepare.py": (["--clips", "2", "--workers", "1", "--cache", "{tmp}"], "prepare speed-up over naive"),
    "bench_report.py": (["--clips", "8", "--image-size", "32", "--frames", "4"], "frame strips for"),
    "bench_stem.py": (["--frames", "8", "--repeats", "2", "--variants", ""], "preset"),
    "bench_train.py": (["--preset", "tiny", "--steps", "1", "--warmup", "1"], "MFU"),
    "bench_workers.py": (["--out", "{tmp}", "--clips", "6", "2", "2", "--steps", "3", "--set", "training.batch_size=2"],
                         "workers / in-process"),
}
NEEDS_KEYPOINTS = {"bench_keypoints.py"}


def test_every_benchmark_has_a_smoke_run() -> None:
    scripts = {p.name for p in (ROOT / "benchmarks").glob("bench_*.py")}
    assert scripts == set(SMOKE)


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(SMOKE))
def test_benchmark_runs_at_tiny_sizes(script: str, tmp_path: Path) -> None:
    if script in NEEDS_KEYPOINTS:
        pytest.importorskip("mediapipe", reason="MediaPipe comes with `make keypoints` (not part of the main install)")
    arguments, expected = SMOKE[script]
    command = [sys.executable, str(ROOT / "benchmarks" / script), *(a.replace("{tmp}", str(tmp_path)) for a in arguments)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr[-3000:]
    assert expected in result.stdout, result.stdout[-2000:]
