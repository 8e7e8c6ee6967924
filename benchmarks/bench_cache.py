"""Compressed cache and length buckets, measured side by side in one run.

    .venv/bin/python benchmarks/bench_cache.py [--clips 48] [--workers 2]    # ~3 min on 2 cores

1. Storage: real H.264 clips (the realistic synthetic corpus, scaled to 240 px high and re-encoded by libx264) prepared
   at 224 px and 12.5 frames/s as raw npy and as JPEG at quality 90 and 75: KiB per stored frame.
2. Loader vs step: clips/s the training loader delivers from the JPEG cache (decoding in its worker
   processes, augmentation on) against clips/s the training step of configs/signing.yaml consumes at
   224 px on the same machine.
3. Padding: padded frames / all frames of the length-bucketed batches vs plain shuffled batches on the
   prepared corpus's real lengths.
0. First, lengths follow durations: H.264 clips of 0.5 to 7 s prepared at 12.5 frames/s, stored frame
   counts (the manifest's `frames`) against duration.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from isltk.config import load_config  # noqa: E402
from isltk.data import cache  # noqa: E402
from isltk.data.cache import load_manifest  # noqa: E402
from isltk.data.dataset import Augment, PreparedClips, ShardedBatchSampler, clip_lengths  # noqa: E402
from isltk.data.prepare import prepare_cache  # noqa: E402
from isltk.synth.encode import ffmpeg_executable  # noqa: E402
from isltk.synth.signing import make_signing_corpus  # noqa: E402
from isltk.training.trainer import Trainer  # noqa: E402


def reencode_h264(video_dir: Path) -> None:
    for path in sorted(video_dir.glob("*.mp4")):
        tmp = path.with_suffix(".h264.mp4")
        subprocess.run([ffmpeg_executable(), "-y", "-v", "error", "-i", str(path), "-vf", "scale=-2:240", "-c:v", "libx264", "-crf", "23",
                        "-pix_fmt", "yuv420p", str(tmp)], check=True)
        tmp.replace(path)


def kib_per_frame(prepared: Path) -> float:
    files = [p for p in (prepared / "clips").iterdir() if p.name.endswith((".npy", ".npz"))]
    frames = sum(clip_lengths(load_manifest(prepared)))
    return sum(p.stat().st_size for p in files) / frames / 1024


def durations_to_frames(root: Path, workers: int) -> None:
    import csv

    import numpy as np

    from isltk.synth.encode import write_video_ffmpeg

    videos = root / "durations" / "videos"
    videos.mkdir(parents=True)
    durations = (0.5, 1.0, 2.0, 3.5, 5.0, 7.0)
    with (root / "durations" / "sentences.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["video", "text", "split"])
        for i, seconds in enumerate(durations):
            frames = [np.full((240, 320, 3), (5 * k) % 256, np.uint8) for k in range(round(seconds * 25))]
            write_video_ffmpeg(videos / f"d{i}.mp4", frames, 25, codec="h264")
            writer.writerow([f"d{i}.mp4", f"clip number {i}", "train"])
    cfg = load_config("configs/signing.yaml", [f"data.video_dir={videos}", f"data.csv_path={root / 'durations' / 'sentences.csv'}",
                                               f"data.prepared_dir={root / 'durations' / 'prepared'}", "data.sample_fps=12.5",
                                               "data.min_frames=4", "data.max_frames=128"])
    prepare_cache(cfg, workers=workers)
    records = sorted(load_manifest(cfg.data.prepared_dir), key=lambda r: r["duration_s"])
    print("stored frames follow duration (sample_fps 12.5):")
    for record in records:
        print(f"  {record['duration_s']:4.1f} s -> {record['frames']:3d} frames")
    print(f"  longest / shortest: {records[-1]['frames'] / records[0]['frames']:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=48)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--batches", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=8, help="clips per batch (configs/signing.yaml trains with 8)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        durations_to_frames(root, args.workers)
        make_signing_corpus(root / "corpus", args.clips, 0, 0, seed=5, workers=args.workers)
        reencode_h264(root / "corpus" / "videos")
        base = [f"data.video_dir={root / 'corpus' / 'videos'}", f"data.csv_path={root / 'corpus' / 'sentences.csv'}",
                "data.image_size=224", "data.sample_fps=12.5", "data.max_frames=128", f"training.runs_dir={root / 'runs'}",
                f"training.num_workers={args.workers}", f"training.batch_size={args.batch_size}", "training.total_steps=1000",
                "data.keypoints=none", "data.hand_crop_px=0"]  # the frames' storage is what this measures
        sizes = {}
        for name, extra in (("npy", ["data.cache_format=npy"]), ("jpeg q90", ["data.cache_format=jpeg", "data.jpeg_quality=90"]),
                            ("jpeg q75", ["data.cache_format=jpeg", "data.jpeg_quality=75"])):
            cfg = load_config("configs/signing.yaml", [*base, f"data.prepared_dir={root / name.replace(' ', '_')}", *extra])
            prepare_cache(cfg, workers=args.workers)
            sizes[name] = kib_per_frame(cfg.data.prepared_dir)
        print("storage at 224 px (H.264 sources, 12.5 frames/s):")
        for name, kib in sizes.items():
            print(f"  {name:9s} {kib:7.1f} KiB per frame  ({sizes['npy'] / kib:4.1f}x smaller than npy)")

        cfg = load_config("configs/signing.yaml", [*base, f"data.prepared_dir={root / 'jpeg_q90'}", "data.cache_format=jpeg"])
        trainer = Trainer(cfg, root / "run")
        loader = trainer._loader()
        start, clips = time.perf_counter(), 0
        batches = []
        for batch in loader:
            batches.append(batch)
            clips += len(batch["tokens"])
            if len(batches) == args.batches:
                break
        load_rate = clips / (time.perf_counter() - start)
        trainer.train_step(batches[:1])  # warm-up
        start = time.perf_counter()
        for batch in batches[1:]:
            trainer.train_step([batch])
        step_rate = sum(len(b["tokens"]) for b in batches[1:]) / (time.perf_counter() - start)
        print(f"loader ({args.workers} workers, JPEG q90, augmentation on): {load_rate:.1f} clips/s; "
              f"training step (configs/signing.yaml, frames only, at 224 px): {step_rate:.1f} clips/s -> loader/step = {load_rate / step_rate:.1f}x")

        vocab = cache.load_text_vocabulary(cfg.data.prepared_dir)
        lengths = clip_lengths(PreparedClips(cfg.data.prepared_dir, "train", vocab, Augment(None), 24).records)
        print(f"clip lengths {min(lengths)}..{max(lengths)} frames ({max(lengths) / min(lengths):.1f}x spread)")
        for name, sampler in (("shuffled", ShardedBatchSampler(len(lengths), args.batch_size, seed=1)),
                              ("length-bucketed", ShardedBatchSampler(len(lengths), args.batch_size, seed=1, lengths=lengths))):
            padded = sum(max(lengths[i] for i in b) * len(b) for b in sampler)
            print(f"  {name:16s} padding waste {1 - sum(lengths[i] for b in sampler for i in b) / padded:6.1%}")


if __name__ == "__main__":
    main()
