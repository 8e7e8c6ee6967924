"""Prepare throughput against a naive OpenCV loop and against ffmpeg's own decode, side by side.

    .venv/bin/python benchmarks/bench_prepare.py [--clips 24] [--workers N]

Clips are realistic in size and codec (640x480 and 1280x720, 25/30 fps, 3-6 s, H.264 via libx264)
with a moving signer-like scene and sensor noise. Three ways to get 16 frames of 224 px per clip:
  prepare  `isltk prepare`'s code path (all cores by default, time-uniform sampling, grab/retrieve)
  naive    the loop a user would write: one process, cv2 read() of every frame, then sample + resize
  ffmpeg   `ffmpeg -i clip -f null -` per clip: decode only, the practical floor
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from isltk.config import validate_config  # noqa: E402
from isltk.data.prepare import prepare_cache  # noqa: E402
from isltk.synth.encode import ffmpeg_executable, write_video_ffmpeg  # noqa: E402


def make_clip(path: Path, width: int, height: int, fps: int, seconds: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    background = np.stack([xx / width * 120 + 40, yy / height * 100 + 60, np.full((height, width), 90.0)], -1)
    noise = [rng.normal(0, 4, (height, width, 3)) for _ in range(4)]
    frames = []
    for i in range(int(fps * seconds)):
        frame = background.copy()
        cv2.rectangle(frame, (width // 2 - width // 6, height // 2), (width // 2 + width // 6, height), (60, 60, 160), -1)
        cv2.circle(frame, (width // 2, height // 2 - height // 8), height // 9, (200, 160, 140), -1)
        for hand in range(2):
            x = int(width / 2 + width / 4 * np.sin(i / (8 + hand * 3) + hand))
            y = int(height / 2 + height / 6 * np.cos(i / (6 + hand)))
            cv2.circle(frame, (x, y), height // 14, (220, 180, 150), -1)
        frames.append(np.clip(frame + noise[i % 4], 0, 255).astype(np.uint8))
    write_video_ffmpeg(path, frames, fps)


def make_clips(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    shapes = [(640, 480, 25), (1280, 720, 30), (640, 480, 30), (1280, 720, 25)]
    paths = []
    for i in range(count):
        width, height, fps = shapes[i % len(shapes)]
        path = folder / f"clip{i:03d}_{width}x{height}_{fps}.mp4"
        if not path.exists():
            make_clip(path, width, height, fps, 3 + (i % 4), seed=i)
        paths.append(path)
    return paths


def naive(paths: list[Path], frames: int, size: int) -> None:
    for path in paths:
        capture = cv2.VideoCapture(str(path))
        decoded = []
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            decoded.append(frame)
        capture.release()
        for index in np.linspace(0, len(decoded) - 1, frames).round().astype(int):
            cv2.resize(decoded[index], (size, size), interpolation=cv2.INTER_AREA)


def ffmpeg_decode(paths: list[Path]) -> None:
    for path in paths:
        subprocess.run([ffmpeg_executable(), "-v", "error", "-i", str(path), "-f", "null", "-"], check=True)


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--cache", type=Path, default=Path(__file__).parent / ".clips")
    args = parser.parse_args()
    paths = make_clips(args.cache, args.clips)
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "clips.csv"
        csv_path.write_text("video,text\n" + "".join(f"{p.name},clip {i}\n" for i, p in enumerate(paths)))
        raw = {"data": {"video_dir": str(args.cache), "csv_path": str(csv_path), "prepared_dir": str(Path(tmp) / "prep"),
                        "num_frames": 16, "image_size": 224}}
        config = validate_config(raw, "bench")
        ffmpeg_decode(paths[:2])  # warm the page cache for every contender alike
        t_prepare = timed(lambda: prepare_cache(config, workers=args.workers))
        shutil.rmtree(Path(tmp) / "prep")
    t_naive = timed(lambda: naive(paths, 16, 224))
    t_ffmpeg = timed(lambda: ffmpeg_decode(paths))
    n = len(paths)
    print(f"{n} H.264 clips (640x480 / 1280x720, 25-30 fps, 3-6 s) -> 16 frames x 224 px, {os.cpu_count()} cores")
    print(f"{'method':<34}{'seconds':>9}{'clips/s':>10}")
    for name, seconds in ((f"isltk prepare ({args.workers} workers)", t_prepare), ("naive OpenCV loop (1 process)", t_naive),
                          ("ffmpeg -f null decode (per clip)", t_ffmpeg)):
        print(f"{name:<34}{seconds:>9.2f}{n / seconds:>10.2f}")
    print(f"prepare speed-up over naive:        {t_naive / t_prepare:.2f}x  (goal >= 2.5x)")
    print(f"prepare time / ffmpeg decode time:  {t_prepare / t_ffmpeg:.2f}x  (goal <= 1.5x)")


if __name__ == "__main__":
    main()
