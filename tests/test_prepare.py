import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from typer.testing import CliRunner

from isltk.cli.app import app
from isltk.data import cache
from isltk.data.prepare import prepare_cache
from isltk.errors import DataError
from isltk.synth.simple import make_corpus
from tests.conftest import make_bad_files, small_config, write_csv


def corpus(tmp_path: Path, train: int = 16) -> Path:
    make_corpus(tmp_path, train_clips=train, val_clips=4, test_clips=4, seed=1)
    return tmp_path


def cache_snapshot(prepared: Path) -> dict[str, bytes]:
    """Every file a consumer reads, by relative path (temp files would show up here too)."""
    return {str(p.relative_to(prepared)): p.read_bytes() for p in sorted(prepared.rglob("*")) if p.is_file()}


def test_prepare_writes_cache_manifest_splits_vocab(tmp_path: Path) -> None:
    corpus(tmp_path)
    cfg = small_config(tmp_path)
    report = prepare_cache(cfg, workers=2)
    assert report.prepared == 24 and not report.rejects and report.split_counts == {"train": 16, "val": 4, "test": 4}
    prepared = cfg.data.prepared_dir
    records = [json.loads(line) for line in (prepared / cache.MANIFEST_FILE).read_text().splitlines()]
    assert set(records[0]) >= {"id", "source", "text", "split", "source_frames", "fps", "duration_s"}
    tensor = np.load(cache.clips_dir(prepared) / f"{records[0]['key']}.npy", mmap_mode="r")
    assert tensor.shape == (8, 32, 32, 3) and tensor.dtype == np.uint8
    vocab = json.loads((prepared / cache.VOCAB_FILE).read_text())["tokens"]
    train_words = {w for r in records if r["split"] == "train" for w in r["text_norm"].split()}
    assert set(vocab[4:]) == train_words  # built from train only
    assert (prepared / "splits" / "test.txt").read_text().split() == [r["id"] for r in records if r["split"] == "test"]
    lengths = sorted(len(r["text_norm"].split()) + 2 for r in records)  # BOS + words + EOS
    assert report.target_tokens_p99 == lengths[int(0.99 * len(lengths))] and report.targets_over_max_length == 0
    cfg.decoder.max_length = lengths[-1] - 1  # the longest targets now too long: said, not silently cut
    assert prepare_cache(cfg, workers=1).targets_over_max_length == sum(n > cfg.decoder.max_length for n in lengths) > 0


def test_rerun_on_complete_cache_decodes_nothing(tmp_path: Path) -> None:
    corpus(tmp_path, train=4)
    cfg = small_config(tmp_path)
    prepare_cache(cfg, workers=1)
    before = cache_snapshot(cfg.data.prepared_dir)
    mtimes = {p: p.stat().st_mtime_ns for p in (cache.clips_dir(cfg.data.prepared_dir)).glob("*.npy")}
    report = prepare_cache(cfg, workers=1)
    assert report.prepared == 0 and report.reused == 12
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
    assert cache_snapshot(cfg.data.prepared_dir) == before


def test_bad_inputs_are_reported_and_good_clips_survive(tmp_path: Path, video_dir: Path) -> None:
    expected = make_bad_files(video_dir)
    make_corpus(tmp_path, train_clips=2, val_clips=0, test_clips=0, seed=3)
    rows = [[name, f"sentence {i}", "train"] for i, name in enumerate(expected)]
    rows += [["train_00000.mp4", "a good clip", "train"], ["train_00001.mp4", "", "train"],
             ["train_00000.mp4", "duplicate", "train"], ["../outside.mp4", "escape", "train"]]
    write_csv(tmp_path / "sentences.csv", ["video", "text", "split"], rows)
    (tmp_path / "outside.mp4").write_bytes(b"must never be read")
    result = CliRunner().invoke(app, ["prepare", "--config", str(write_config(tmp_path)), "-j", "2"])
    assert result.exit_code == 0, result.output
    rejects = (tmp_path / "prepared" / cache.REJECTS_FILE).read_text()
    for name, fragment in expected.items():
        line = next(line for line in rejects.splitlines() if name.rsplit(".", 1)[0] in line)
        assert fragment in line
    for fragment in ("empty text", "duplicate id", "escapes data.video_dir"):
        assert fragment in rejects
    assert (tmp_path / "prepared" / "splits" / "train.txt").read_text().split() == ["train_00000"]


def test_nothing_usable_exits_nonzero(tmp_path: Path, video_dir: Path) -> None:
    (video_dir / "x.mp4").write_text("nope")
    write_csv(tmp_path / "sentences.csv", ["video", "text"], [["x.mp4", "hello"]])
    result = CliRunner().invoke(app, ["prepare", "--config", str(write_config(tmp_path))])
    assert result.exit_code == 1 and "no clip could be prepared" in result.output


def test_bad_csv_fails_before_any_video_work(tmp_path: Path, video_dir: Path) -> None:
    write_csv(tmp_path / "sentences.csv", ["media", "words"], [["x.mp4", "hello"]])
    result = CliRunner().invoke(app, ["prepare", "--config", str(write_config(tmp_path))])
    assert result.exit_code == 1 and "cannot tell the CSV layout" in result.output
    assert not (tmp_path / "prepared").exists()


def test_changed_settings_are_refused_then_rebuilt_with_force(tmp_path: Path) -> None:
    corpus(tmp_path, train=2)
    prepare_cache(small_config(tmp_path), workers=1)
    with pytest.raises(DataError, match="image_size: 32 -> 16"):
        prepare_cache(small_config(tmp_path, image_size=16), workers=1)
    report = prepare_cache(small_config(tmp_path, image_size=16), workers=1, force=True)
    assert report.prepared == 10


def test_ratio_split_without_split_column_is_seeded(tmp_path: Path, video_dir: Path) -> None:
    make_corpus(tmp_path, train_clips=30, val_clips=0, test_clips=0, seed=2)
    write_csv(tmp_path / "sentences.csv", ["video", "text"], [[f"train_{i:05d}.mp4", f"words {i}"] for i in range(30)])
    cfg = small_config(tmp_path, val_fraction=0.2, test_fraction=0.2)
    counts = prepare_cache(cfg, workers=1).split_counts
    assert sum(counts.values()) == 30 and min(counts.values()) > 0
    assert prepare_cache(cfg, workers=1).split_counts == counts


def write_config(tmp_path: Path) -> Path:
    raw = small_config(tmp_path).model_dump(mode="json")
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_kill_9_mid_prepare_then_rerun_matches_uninterrupted(tmp_path: Path) -> None:
    corpus(tmp_path, train=40)
    config_path = write_config(tmp_path)
    clips = cache.clips_dir(tmp_path / "prepared")
    process = subprocess.Popen([sys.executable, "-m", "isltk", "prepare", "-c", str(config_path), "-j", "1"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and len(list(clips.glob("*.json"))) < 5:
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done = len(list(clips.glob("*.json")))
    assert 5 <= done < 48, "the kill must land mid-run"
    assert not (tmp_path / "prepared" / cache.MANIFEST_FILE).exists()

    resumed = subprocess.run([sys.executable, "-m", "isltk", "prepare", "-c", str(config_path), "-j", "2"],
                             capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "already settled" in resumed.stderr

    reference_dir = tmp_path / "reference"
    reference = small_config(tmp_path, prepared_dir=reference_dir)
    prepare_cache(reference, workers=1)
    assert cache_snapshot(tmp_path / "prepared") == cache_snapshot(reference_dir)


def test_jpeg_cache_is_smaller_reads_back_closely_and_converts_without_decoding(tmp_path: Path) -> None:
    from isltk.data.dataset import Augment, PreparedClips
    from isltk.data.framestore import FrameFile

    corpus(tmp_path, train=4)
    raw_cfg = small_config(tmp_path, image_size=64)
    prepare_cache(raw_cfg, workers=1)
    raw = {p.name.split(".")[0]: FrameFile(p).read() for p in (cache.clips_dir(raw_cfg.data.prepared_dir)).glob("*.npy")}
    raw_bytes = sum(p.stat().st_size for p in (cache.clips_dir(raw_cfg.data.prepared_dir)).glob("*.npy"))

    jpeg_cfg = small_config(tmp_path, image_size=64, cache_format="jpeg", jpeg_quality=90)
    report = prepare_cache(jpeg_cfg, workers=1)  # same folder: storage changed only -> converted in place
    assert report.converted == 12 and report.prepared == 0 and report.reused == 12
    clips = cache.clips_dir(raw_cfg.data.prepared_dir)
    assert not list(clips.glob("*.npy")) and len(list(clips.glob("*.jpgs.npz"))) == 12
    assert sum(p.stat().st_size for p in clips.glob("*.jpgs.npz")) < raw_bytes / 4
    for key, frames in raw.items():
        decoded = FrameFile(clips / f"{key}.jpgs.npz").read().astype(np.float32)
        mse = float(((decoded - frames) ** 2).mean())
        assert 10 * np.log10(255**2 / max(mse, 1e-9)) > 30  # PSNR in dB
    vocab = cache.load_text_vocabulary(jpeg_cfg.data.prepared_dir)
    frames = PreparedClips(jpeg_cfg.data.prepared_dir, "train", vocab, Augment(8), 16)[0].frames
    assert frames.shape == (8, 64, 64, 3) and frames.dtype == torch.uint8
    with pytest.raises(DataError, match="image_size"):
        prepare_cache(small_config(tmp_path, image_size=32, cache_format="jpeg"), workers=1)


def test_the_real_data_config_stores_frames_by_duration_as_small_jpegs(tmp_path: Path, video_dir: Path) -> None:
    """configs/config.yaml (iSign-sized corpora): a 5x longer clip keeps 5x the frames, and a 224 px frame of a
    photograph (not a flat synthetic one, which would compress far better) takes at most 30 KiB."""
    import cv2
    import matplotlib.cbook

    from isltk.config import load_config
    from isltk.synth.encode import write_video_ffmpeg

    photo = cv2.imread(str(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))[:, :, ::-1]
    photo = cv2.resize(photo, (640, 480))  # a landscape camera frame

    def clip(name: str, seconds: float) -> None:
        frames = [np.ascontiguousarray(np.roll(photo, 3 * i, axis=1)) for i in range(round(25 * seconds))]
        write_video_ffmpeg(video_dir / name, frames, 25)

    clip("short.mp4", 1.0)
    clip("long.mp4", 5.0)
    csv_path = write_csv(tmp_path / "sentences.csv", ["video", "text", "split"],
                         [["short.mp4", "Hello.", "train"], ["long.mp4", "I will see you at school tomorrow.", "train"]])
    cfg = load_config("configs/config.yaml", [f"data.video_dir={video_dir}", f"data.csv_path={csv_path}",
                                              f"data.prepared_dir={tmp_path / 'prepared'}", "data.val_fraction=0",
                                              "data.test_fraction=0"])
    assert prepare_cache(cfg, workers=1).usable == 2
    records = {r["id"]: r for r in cache.load_manifest(cfg.data.prepared_dir)}
    assert records["long"]["frames"] >= 4 * records["short"]["frames"]
    assert cache.storage_format(cfg.data.prepared_dir) == "jpeg"
    stored = sum(cache.clip_frames_path(cfg.data.prepared_dir, r["key"], "jpeg").stat().st_size for r in records.values())
    assert 2 * 1024 < stored / sum(r["frames"] for r in records.values()) <= 30 * 1024


def test_prepare_never_writes_into_a_folder_of_someone_elses_files(tmp_path: Path) -> None:
    corpus(tmp_path, train=2)
    mine = tmp_path / "prepared"
    mine.mkdir()
    (mine / "manifest.jsonl").write_text("my own notes\n")
    with pytest.raises(DataError, match="not an isltk cache .*manifest.jsonl"):
        prepare_cache(small_config(tmp_path), workers=1)
    assert (mine / "manifest.jsonl").read_text() == "my own notes\n"


def test_force_deletes_only_what_prepare_wrote(tmp_path: Path) -> None:
    corpus(tmp_path, train=2)
    prepare_cache(small_config(tmp_path), workers=1)
    keepsake = cache.clips_dir(tmp_path / "prepared") / "notes.txt"
    keepsake.write_text("not isltk's")
    report = prepare_cache(small_config(tmp_path, image_size=16), workers=1, force=True)
    assert report.prepared == 10 and keepsake.read_text() == "not isltk's"


def test_a_second_prepare_into_the_same_cache_stops_at_once(tmp_path: Path) -> None:
    from isltk.errors import IsltkError
    from isltk.fsutil import FolderLock

    corpus(tmp_path, train=2)
    holder = FolderLock(tmp_path / "prepared", "prepare")  # as a running prepare holds it (flock: per open file)
    try:
        with pytest.raises(IsltkError, match=r"in use by isltk prepare \(pid \d+\)"):
            prepare_cache(small_config(tmp_path), workers=1)
    finally:
        holder.release()
    assert prepare_cache(small_config(tmp_path), workers=1).usable == 10


def test_a_very_long_file_name_is_stored_under_a_short_key(tmp_path: Path, video_dir: Path) -> None:
    from isltk.data.prepare import clip_key
    from isltk.synth.encode import write_video_ffmpeg
    from tests.conftest import ramp_frames

    name = "a" * 245
    write_video_ffmpeg(video_dir / f"{name}.mp4", ramp_frames(20), 25)
    write_csv(tmp_path / "sentences.csv", ["video", "text", "split"], [[f"{name}.mp4", "hello", "train"]])
    assert prepare_cache(small_config(tmp_path), workers=1).usable == 1
    assert len(clip_key(name)) < 100 and clip_key(name) != clip_key("a" * 246)
