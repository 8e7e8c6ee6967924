"""Shared fixtures: real video files written by real encoders, and small configs."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from isltk.config import Config, deep_merge, validate_config
from isltk.models.presets import preset_model_config
from isltk.models.translator import SignTranslator
from isltk.synth.encode import ffmpeg_executable, write_video_ffmpeg


def ramp_frames(count: int, height: int = 48, width: int = 64) -> list[np.ndarray]:
    """Frame i is uniformly grey level 4*i (mod 256), so a decoded frame tells which source frame it was."""
    return [np.full((height, width, 3), (4 * i) % 256, np.uint8) for i in range(count)]


def frame_index(frame: np.ndarray) -> int:
    """Inverse of ramp_frames for a decoded (possibly letterboxed) frame: read the centre pixel."""
    h, w = frame.shape[:2]
    return round(float(frame[h // 2 - 1 : h // 2 + 1, w // 2 - 1 : w // 2 + 1].mean()) / 4)


def write_csv(path: Path, header: list[str], rows: list[list[str]], delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def make_bad_files(folder: Path) -> dict[str, str]:
    """Every kind of bad input prepare must survive; name -> expected reason fragment."""
    good = folder / "_source.mp4"
    frames = [f + np.random.default_rng(i).integers(0, 20, f.shape, dtype=np.uint8) for i, f in enumerate(ramp_frames(60))]
    write_video_ffmpeg(good, frames, 25, extra_args=["-movflags", "+faststart", "-g", "5"])
    data = good.read_bytes()
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "truncated.mp4").write_bytes(data[: len(data) * 4 // 10])
    middle = bytearray(data)
    middle[len(data) * 3 // 10 : len(data) * 9 // 10] = bytes(len(data) * 9 // 10 - len(data) * 3 // 10)
    (folder / "corrupt_middle.mp4").write_bytes(bytes(middle))
    (folder / "not_video.mp4").write_text("this is a text file, not a video")
    (folder / "zero_frames.mp4").write_bytes(data[: data.index(b"mdat") + 4])  # header intact, no frame data
    subprocess.run(
        [ffmpeg_executable(), "-y", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac",
         str(folder / "audio_only.m4a")],
        check=True,
    )
    good.unlink()
    return {
        "empty.mp4": "empty file",
        "truncated.mp4": "header promises",
        "corrupt_middle.mp4": "header promises",
        "not_video.mp4": "cannot open",
        "zero_frames.mp4": "no video frames",
        "audio_only.m4a": "cannot open",
        "missing.mp4": "file not found",
    }


def small_config(tmp_path: Path, **data_overrides) -> Config:
    data = {"video_dir": str(tmp_path / "videos"), "csv_path": str(tmp_path / "sentences.csv"),
            "prepared_dir": str(tmp_path / "prepared"), "num_frames": 8, "image_size": 32}
    data.update({k: (str(v) if isinstance(v, Path) else v) for k, v in data_overrides.items()})
    raw = {"data": data, "encoder": {"vit_hidden_dim": 32, "vit_num_heads": 2, "vit_num_layers": 1,
                                     "vit_mlp_dim": 64, "patch_size": 8}}
    return validate_config(raw, "test")


MICRO = {
    "encoder": {"vit_hidden_dim": 32, "vit_num_heads": 2, "vit_num_layers": 1, "vit_mlp_dim": 64, "patch_size": 8},
    "temporal": {"num_temporal_conv": 1, "hidden_dim": 32, "pool_heads": 2, "num_refine_layers": 1, "dropout": 0.1},
    "decoder": {"hidden_dim": 32, "num_layers": 1, "num_heads": 2, "ff_dim": 64, "max_length": 12, "dropout": 0.1},
}


def micro_config(root: Path, runs: Path, **training):
    raw = {
        "data": {"video_dir": str(root / "videos"), "csv_path": str(root / "sentences.csv"), "prepared_dir": str(root / "prepared"),
                 "num_frames": 8, "cache_frames": 12, "image_size": 32},
        **MICRO,
        "training": deep_merge({"num_epochs": 3, "batch_size": 4, "optimizer": {"encoder_lr": 1e-3, "learning_rate": 1e-3, "warmup_steps": 2},
                                "use_amp": False, "num_workers": 0, "device": "cpu", "checkpoints": {"val_every_epochs": 1},
                                "log_every_steps": 1, "runs_dir": str(runs), "seed": 5}, training),
    }
    return validate_config(raw, "test")


def prepared_corpus(root: Path, seed: int, train_clips: int = 24, val_clips: int = 4, test_clips: int = 4) -> Path:
    """A small simple-style corpus under `root`, prepared with micro_config (the trainer and evaluation tests' data)."""
    from isltk.data.prepare import prepare_cache
    from isltk.synth.simple import make_corpus

    make_corpus(root, train_clips=train_clips, val_clips=val_clips, test_clips=test_clips, seed=seed)
    prepare_cache(micro_config(root, root / "runs"), workers=2)
    return root


@pytest.fixture(scope="session")
def simple_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One prepared simple-style corpus for the whole session (the trainer and evaluation tests read it; a test
    that changes a cache or a CSV makes its own)."""
    return prepared_corpus(tmp_path_factory.mktemp("simple"), seed=11, test_clips=6)


@pytest.fixture
def video_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "videos"
    folder.mkdir()
    return folder


def tiny_model(seed: int = 0, **decoder) -> SignTranslator:
    """The tiny preset in eval mode, seeded (decoder settings overridable)."""
    torch.manual_seed(seed)
    cfg = preset_model_config("tiny", vocab_size=20)
    if decoder:
        cfg = cfg.model_copy(update={"decoder": cfg.decoder.model_copy(update=decoder)})
    return SignTranslator(cfg).eval()


def clip_batch(batch: int, frames: int, size: int = 48, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Random (already normalised) clips of `frames` frames, every frame valid."""
    generator = torch.Generator().manual_seed(seed)
    video = torch.randn(batch, frames, 3, size, size, generator=generator)
    return video, torch.ones(batch, frames, dtype=torch.bool)
