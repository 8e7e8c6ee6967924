"""The training data loader alone, against the training step it feeds and against decoding on the fly.

    .venv/bin/python benchmarks/bench_loader.py [--config configs/tiny.yaml] [--clips 24]

Three rates, clips/s, measured in one run on the same realistic H.264 clips (640x480 / 1280x720,
3-6 s, from bench_prepare.py):
  loader     isltk's DataLoader over the prepared cache (memory-mapped uint8, the config's worker
             count, pinned memory on CUDA, temporal + spatial jitter)
  step       the training step's consumption (Trainer.train_step on those batches)
  on the fly a DataLoader with the same workers that decodes the videos each time (no cache)
Bars (issue 7): loader >= 3x step, loader >= 20x on-the-fly decoding.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench_prepare import make_clips  # noqa: E402
from isltk.config import load_config  # noqa: E402
from isltk.data.dataset import collate, frame_indices  # noqa: E402
from isltk.data.prepare import prepare_cache  # noqa: E402
from isltk.data.video import decode_video  # noqa: E402
from isltk.training.trainer import Trainer  # noqa: E402


class DecodeOnTheFly(Dataset):
    def __init__(self, paths: list[Path], cfg) -> None:  # type: ignore[no-untyped-def]
        self.paths, self.data = paths, cfg.data

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):  # type: ignore[no-untyped-def]
        clip = decode_video(self.paths[index], self.data.stored_frames, self.data.image_size, self.data.resize_mode)
        frames = clip.frames[frame_indices(len(clip.frames), self.data.num_frames, np.random.default_rng(index))]
        return torch.from_numpy(frames), torch.tensor([2, 5, 6, 3]), torch.zeros(0, dtype=torch.long)  # no glosses


def rate(loader: DataLoader, epochs: int) -> float:
    clips = 0
    start = time.perf_counter()
    for _ in range(epochs):
        for batch in loader:
            clips += len(batch["tokens"])
    return clips / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=Path("configs/tiny.yaml"))
    parser.add_argument("--clips", type=int, default=24, help="distinct source videos")
    parser.add_argument("--copies", type=int, default=10, help="each video is listed this many times (as links)")
    parser.add_argument("--cache", type=Path, default=Path(__file__).parent / ".clips", help="where the source clips are kept")
    args = parser.parse_args()
    sources = make_clips(args.cache, args.clips)
    with tempfile.TemporaryDirectory() as tmp:
        video_dir = Path(tmp) / "videos"
        video_dir.mkdir()
        paths = []
        for copy in range(args.copies):
            for source in sources:
                paths.append(video_dir / f"{copy}_{source.name}")
                paths[-1].symlink_to(source)
        csv_path = Path(tmp) / "clips.csv"
        csv_path.write_text("video,text,split\n" + "".join(f"{p.name},sign number {i % 7} is here,train\n" for i, p in enumerate(paths)))
        cfg = load_config(args.config, [f"data.video_dir={video_dir}", f"data.csv_path={csv_path}",
                                         f"data.prepared_dir={tmp}/prepared", f"training.runs_dir={tmp}/runs"])
        prepare_cache(cfg)
        trainer = Trainer(cfg, Path(tmp) / "run")
        workers = cfg.training.num_workers
        trainer.sampler.set_epoch(0)
        loader = trainer._loader()
        next(iter(loader))  # worker start-up is not throughput
        loader_rate = rate(loader, 1)
        batches = list(trainer._loader())
        trainer.train_step(batches[:1])  # warm-up
        start, clips = time.perf_counter(), 0
        for batch in batches[1:]:
            trainer.train_step([batch])
            clips += len(batch["tokens"])
        step_rate = clips / (time.perf_counter() - start)
        fly = DataLoader(DecodeOnTheFly(paths[: 3 * cfg.training.batch_size], cfg), batch_size=cfg.training.batch_size,
                         num_workers=workers, collate_fn=collate)
        fly_rate = rate(fly, 1)
        shutil.rmtree(Path(tmp) / "run", ignore_errors=True)
    print(f"{len(paths)} clips ({args.clips} distinct H.264 videos) -> {cfg.data.num_frames} of {cfg.data.stored_frames} cached frames at {cfg.data.image_size} px, "
          f"batch {cfg.training.batch_size}, {workers} loader worker(s), device {trainer.device}")
    print(f"{'what':<44}{'clips/s':>10}")
    print(f"{'loader from the prepared cache':<44}{loader_rate:>10.1f}")
    print(f"{'training step consumption':<44}{step_rate:>10.1f}")
    print(f"{'decoding the videos on the fly (same workers)':<44}{fly_rate:>10.1f}")
    print(f"loader / training step:      {loader_rate / step_rate:6.1f}x  (goal >= 3x)")
    print(f"loader / on-the-fly decoding: {loader_rate / fly_rate:6.1f}x  (goal >= 20x)")


if __name__ == "__main__":
    main()
