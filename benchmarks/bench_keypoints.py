"""Keypoint extraction speed, and what `data.keypoints: mediapipe` adds to prepare's time, side by side.

    make keypoints && .venv/bin/python benchmarks/bench_keypoints.py [--clips 8] [--seconds 3] [--workers N]

Clips show a real person (scikit-image's `astronaut` photograph, the camera panning across it) at 640x480 and
1280x720, 25 fps, H.264 (libx264, as bench_prepare). Three measurements on the same clips:
  holistic  MediaPipe Holistic (model_complexity 1, what prepare runs) on every stored frame, one process
  hands     MediaPipe Hands (model_complexity 0) on the same frames, one process: the cheaper detector
  prepare   `isltk prepare` of the clips without keypoints and with data.keypoints: mediapipe (all cores)
MediaPipe runs its own threads inside a process: "one process" figures are per process, on this machine's cores.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from isltk.config import validate_config  # noqa: E402
from isltk.data.prepare import prepare_cache  # noqa: E402
from isltk.data.video import FrameSampling, decode_video  # noqa: E402
from isltk.synth.encode import write_video_ffmpeg  # noqa: E402

SAMPLE_FPS = 8.0  # configs/config.yaml's rate


def make_clips(folder: Path, count: int, seconds: float) -> list[Path]:
    from skimage import data

    photo = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        width, height = ((640, 480), (1280, 720))[i % 2]
        person = cv2.resize(photo, (height, height))
        frames = []
        for t in range(int(25 * seconds)):
            frame = np.full((height, width, 3), 90, np.uint8)
            x = int((width - height) / 2 + (width - height) / 3 * np.sin(t / 20 + i))
            frame[:, x : x + height] = person
            frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        path = folder / f"clip{i:03d}_{width}x{height}.mp4"
        write_video_ffmpeg(path, frames, 25)
        paths.append(path)
    return paths


def detector_fps(paths: list[Path], make_detector) -> tuple[float, int]:  # noqa: ANN001
    """Frames per second of a detector over every stored frame of the clips (decoding not timed)."""
    clips = [decode_video(p, FrameSampling(None, SAMPLE_FPS, 4, 128), 32, keep_raw=True).raw for p in paths]
    frames, seconds = 0, 0.0
    for raw in clips:
        with make_detector() as detector:
            start = time.perf_counter()
            for frame in raw:
                detector.process(frame)
            seconds += time.perf_counter() - start
            frames += len(raw)
    return frames / seconds, frames


def prepare_seconds(root: Path, keypoints: str, workers: int) -> tuple[float, float | None]:
    cfg = validate_config({"data": {"video_dir": str(root / "videos"), "csv_path": str(root / "clips.csv"),
                                    "prepared_dir": str(root / f"prepared-{keypoints}"), "sample_fps": SAMPLE_FPS,
                                    "image_size": 224, "cache_format": "jpeg", "keypoints": keypoints}}, "bench")
    start = time.perf_counter()
    report = prepare_cache(cfg, workers=workers)
    return time.perf_counter() - start, report.hands_found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    try:
        os.environ.setdefault("GLOG_minloglevel", "2")
        import mediapipe as mp
    except ImportError:
        sys.exit("MediaPipe is not installed: run `make keypoints` first")
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        paths = make_clips(root / "videos", args.clips, args.seconds)
        (root / "clips.csv").write_text("video,text,split\n" + "".join(f"{p.name},hello .,train\n" for p in paths))
        holistic, frames = detector_fps(paths, lambda: mp.solutions.holistic.Holistic(model_complexity=1))
        hands, _ = detector_fps(paths, lambda: mp.solutions.hands.Hands(model_complexity=0))
        plain, _ = prepare_seconds(root, "none", args.workers)
        with_keypoints, found = prepare_seconds(root, "mediapipe", args.workers)
    print(f"{args.clips} clips, {frames} stored frames at {SAMPLE_FPS:g} frames/s of video, {os.cpu_count()} cores")
    print(f"holistic (complexity 1, one process): {holistic:.1f} frames/s")
    print(f"hands (complexity 0, one process):    {hands:.1f} frames/s  ({hands / holistic:.1f}x holistic)")
    print(f"prepare without keypoints: {plain:.2f} s; with mediapipe: {with_keypoints:.2f} s "
          f"({args.workers} workers; a hand found in {100 * (found or 0):.0f}% of frames)")
    print(f"prepare with keypoints / without: {with_keypoints / plain:.1f}x the time")


if __name__ == "__main__":
    main()
