"""Which decoder first? OpenCV vs PyAV on the same real-codec clips, side by side in one run.

    .venv/bin/python benchmarks/bench_decode.py [--clips 40] [--seconds 4] [--size 224]

Encodes `--clips` 320x240 clips per codec (H.264 and HEVC with the ffmpeg binary, VP9 and AV1 with PyAV),
then decodes each with both backends through isltk's own scan (every frame decoded, the sampled ones
converted and resized), and prints clips/s per backend and the ratio. AV1 shows OpenCV's wheel decoding
no frames at all, which is why isltk falls back to PyAV per file.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from isltk.data.video import FrameSampling, VideoDecodeError, _scan, _scan_pyav  # noqa: E402
from isltk.synth.encode import write_video_ffmpeg, write_video_pyav  # noqa: E402

CODECS = (("h264", ".mp4", "ffmpeg"), ("hevc", ".mp4", "ffmpeg"), ("libvpx-vp9", ".webm", "pyav"), ("libsvtav1", ".mp4", "pyav"))


def moving_frames(count: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (60, 80, 3), dtype=np.uint8).repeat(4, 0).repeat(4, 1)
    return [np.roll(base, 3 * i, axis=1) for i in range(count)]


def timed(scan, paths: list[Path], size: int) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    sampling = FrameSampling(None, 12.5, 4, 128)
    decoded, started = 0, time.perf_counter()
    for path in paths:
        try:
            decoded += len(scan(path, None, sampling, size, "letterbox", 1).pts_ms)
        except VideoDecodeError:
            pass
    return time.perf_counter() - started, decoded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args()
    frames = round(args.seconds * 25)
    with tempfile.TemporaryDirectory() as folder:
        print(f"{args.clips} clips x {frames} frames (320x240, 25 fps) per codec; one decoding thread; resize to {args.size}")
        print(f"{'codec':12s} {'OpenCV clips/s':>15s} {'PyAV clips/s':>13s} {'PyAV/OpenCV':>12s}  frames decoded (OpenCV / PyAV)")
        for codec, suffix, writer in CODECS:
            paths = []
            for i in range(args.clips):
                path = Path(folder) / f"{codec}_{i}{suffix}"
                clip = moving_frames(frames, i)
                write_video_ffmpeg(path, clip, 25, codec=codec) if writer == "ffmpeg" else write_video_pyav(path, clip, 25, codec)
                paths.append(path)
            cv_s, cv_frames = timed(_scan, paths, args.size)
            av_s, av_frames = timed(_scan_pyav, paths, args.size)
            cv_rate = args.clips / cv_s if cv_frames else 0.0
            print(f"{codec:12s} {cv_rate:15.1f} {args.clips / av_s:13.1f} {(args.clips / av_s) / cv_rate if cv_rate else float('inf'):12.2f}"
                  f"  {cv_frames} / {av_frames}")


if __name__ == "__main__":
    main()
