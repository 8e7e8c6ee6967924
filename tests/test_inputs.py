"""data.keypoints auto (isltk.data.inputs): the corpus's .pose files where every clip has one, else frames only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from isltk.data import cache
from isltk.data.inputs import resolve, resolve_for_rows
from isltk.data.layouts import read_rows
from isltk.data.prepare import FrameSettings, prepare_cache
from isltk.errors import DataError
from isltk.models.spec import model_config
from isltk.synth.signing import make_signing_corpus
from tests.conftest import micro_config


def auto(root: Path, runs: Path, prepared: Path, crops: int = 16):
    cfg = micro_config(root, runs, num_epochs=1)
    cfg.data.prepared_dir, cfg.data.keypoints, cfg.data.hand_crop_px, cfg.data.sample_fps = prepared, "auto", crops, 10.0
    return cfg


@pytest.fixture(scope="module")
def signing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("signing-auto")
    make_signing_corpus(root, train_clips=8, val_clips=2, test_clips=0, seed=6, workers=2)
    return root


def test_auto_reads_the_pose_files_only_when_every_clip_has_one(signing: Path, tmp_path: Path) -> None:
    cfg = auto(signing, tmp_path / "runs", tmp_path / "prepared")
    rows = read_rows(cfg.data)[0]
    every = resolve_for_rows(cfg, rows)
    assert (every.config.data.keypoints, every.config.data.hand_crop_px) == ("pose_files", 16)
    assert "every one of 10 clips has a .pose file" in every.line
    missing = rows[0].source.with_suffix(".pose")
    moved = tmp_path / missing.name
    missing.rename(moved)
    try:
        partial = resolve_for_rows(cfg, rows)
    finally:
        moved.rename(missing)
    assert (partial.config.data.keypoints, partial.config.data.hand_crop_px) == ("none", 0)
    assert "(frames only): 1 of 10 clips have no .pose file" in partial.line and missing.name in partial.line
    explicit = micro_config(signing, tmp_path / "runs")
    assert resolve_for_rows(explicit, rows).config is explicit and not resolve_for_rows(explicit, rows).line


def test_a_corpus_with_poses_trains_the_hand_streams_and_the_checkpoint_names_them(signing: Path, tmp_path: Path) -> None:
    from isltk.training.checkpoint import read_meta
    from isltk.training.trainer import Trainer

    cfg = auto(signing, tmp_path / "runs", tmp_path / "prepared")
    planned = model_config(cfg)  # before prepare: chosen from the CSV and the files, as prepare will
    report = prepare_cache(cfg, workers=2)
    assert report.keypoints == "pose_files" and report.keypoints_choice.startswith("auto -> pose_files")
    assert cache.inputs(cfg.data.prepared_dir) == (True, "pose_files", 16)
    trainer = Trainer(cfg, tmp_path / "run")
    assert trainer.cfg.data.keypoints == "pose_files" and "as prepared in" in trainer.inputs_choice
    assert trainer.model_cfg.keypoint_points and trainer.model_cfg.hand_crop_px == 16
    assert (planned.keypoint_points, planned.hand_crop_px) == (trainer.model_cfg.keypoint_points, 16)
    result = trainer.fit()
    assert read_meta(result.last_checkpoint)["config"]["data"]["keypoints"] == "pose_files"  # translate prepares a new clip the same way
    missing = next((signing / "videos").glob("*.pose"))
    missing.rename(tmp_path / missing.name)
    try:  # a .pose file gone since: the cache is not rebuilt as frames only behind the user's back, and the refusal says why
        with pytest.raises(DataError, match=r"keypoints: pose_files -> none.*1 of 10 clips have no \.pose file"):
            prepare_cache(cfg, workers=1)
    finally:
        (tmp_path / missing.name).rename(missing)


def test_a_corpus_without_poses_prepares_the_frames_only_cache_it_did_before(simple_corpus: Path, tmp_path: Path) -> None:
    from isltk.training.trainer import Trainer

    cfg = micro_config(simple_corpus, tmp_path / "runs", num_epochs=1)
    cfg.data.prepared_dir, cfg.data.keypoints, cfg.data.hand_crop_px = tmp_path / "prepared", "auto", 32
    report = prepare_cache(cfg, workers=2)
    assert report.keypoints == "none" and report.keypoints_choice.startswith("auto -> none (frames only)")
    frames_only = micro_config(simple_corpus, tmp_path / "runs")
    stored = json.loads((cfg.data.prepared_dir / cache.SETTINGS_FILE).read_text())
    assert stored == {"format": cache.CACHE_FORMAT, **FrameSettings.from_data(frames_only.data).fingerprint()}
    trainer = Trainer(cfg, tmp_path / "run")
    assert trainer.cfg.data.keypoints == "none" and trainer.cfg.data.hand_crop_px == 0
    assert not trainer.model_cfg.keypoint_points and not trainer.model_cfg.hand_crop_px
    assert resolve(cfg).config.data.keypoints == "none"  # check-hardware reads the same choice back


def test_before_prepare_and_without_a_csv_check_hardware_counts_every_stream(tmp_path: Path) -> None:
    cfg = auto(tmp_path, tmp_path / "runs", tmp_path / "prepared")  # no CSV, no videos here
    planned = resolve(cfg)
    assert (planned.config.data.keypoints, planned.config.data.hand_crop_px) == ("pose_files", 16)
    assert "counted with keypoints and hand crops" in planned.line and "sentences.csv" in planned.line
