"""Keypoints: pose-format files read, written and normalised; synthetic ground truth; a pose-only corpus end to end."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from isltk.data import cache
from isltk.data import keypoints as kp
from isltk.data.prepare import prepare_cache
from isltk.errors import DataError
from isltk.synth.signing import hand_keypoints, make_signer, make_signing_corpus, render_with_keypoints


def random_pose(frames: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    points = rng.uniform(10, 150, (frames, kp.MODEL_POINTS, 3)).astype(np.float32)
    confidence = np.ones((frames, kp.MODEL_POINTS), np.float32)
    return points, confidence


def test_a_pose_written_is_read_back_with_the_points_not_found_masked(tmp_path: Path) -> None:
    points, confidence = random_pose()
    confidence[2, kp.HAND_OFFSETS[kp.LEFT_HAND] :] = 0  # frame 2: both hands lost
    kp.write_pose(tmp_path / "a.pose", kp.holistic_pose(points, confidence, 25.0, 160, 120))
    pose = kp.read_pose(tmp_path / "a.pose")
    assert pose.body.fps == 25.0 and pose.header.dimensions.width == 160
    assert [c.name for c in pose.header.components] == list(kp.MODEL_COMPONENTS)
    xy, found = kp.model_points(pose)
    assert found.sum() == found.size - 42 and not found[2, 33:].any()
    np.testing.assert_allclose(xy[found], points[..., :2][found], rtol=1e-6)
    assert (xy[~found] == 0).all()
    assert kp.hands_found(found) == pytest.approx(5 / 6)


def test_normalised_keypoints_do_not_depend_on_where_the_signer_stands_or_how_large(tmp_path: Path) -> None:
    points, confidence = random_pose()
    moved = points.copy()
    moved[..., :2] = points[..., :2] * 1.7 + np.array([40.0, -25.0], np.float32)  # another camera distance and place
    features = kp.normalize(*kp.model_points(kp.holistic_pose(points, confidence, 25, 160, 120)))
    np.testing.assert_allclose(features, kp.normalize(*kp.model_points(kp.holistic_pose(moved, confidence, 25, 400, 300))),
                               atol=1e-4)
    left, right = points[:, kp.LEFT_SHOULDER, :2], points[:, kp.RIGHT_SHOULDER, :2]
    unit = np.median(np.linalg.norm(left - right, axis=-1))
    np.testing.assert_allclose(features[:, kp.LEFT_SHOULDER, :2] - features[:, kp.RIGHT_SHOULDER, :2], (left - right) / unit, atol=1e-4)
    wrist = kp.HAND_OFFSETS[kp.RIGHT_HAND]
    assert np.allclose(features[:, wrist, 2:4], 0)  # the wrist is its hand's origin
    assert features.shape == (6, kp.MODEL_POINTS, kp.CHANNELS) and (features[..., 4] == 1).all()


def test_points_not_found_are_zero_and_marked_not_silently_zero_filled() -> None:
    points, confidence = random_pose()
    confidence[:, kp.HAND_OFFSETS[kp.RIGHT_HAND] :] = 0
    features = kp.normalize(*kp.model_points(kp.holistic_pose(points, confidence, 25, 160, 120)))
    right = slice(kp.HAND_OFFSETS[kp.RIGHT_HAND], None)
    assert (features[:, right] == 0).all()  # found = 0 in the last channel tells "not seen" from "at the origin"
    assert (features[:, : kp.HAND_OFFSETS[kp.RIGHT_HAND], 4] == 1).all()


@pytest.mark.parametrize("damage", ["truncated", "empty", "garbage", "no hands"])
def test_a_damaged_or_foreign_pose_file_is_refused_with_its_name(tmp_path: Path, damage: str) -> None:
    points, confidence = random_pose(frames=40)
    path = tmp_path / "clip.pose"
    kp.write_pose(path, kp.holistic_pose(points, confidence, 25, 160, 120))
    raw = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "garbage":
        path.write_bytes(b"\x89PNG not a pose" * 50)
    else:
        kp.write_pose(path, kp.holistic_pose(points[:, :33], confidence[:, :33], 25, 160, 120, (kp.BODY,)))
    with pytest.raises(DataError, match="clip.pose"):
        kp.model_points(kp.read_pose(path), path)


def test_synthetic_hands_carry_ground_truth_keypoints_that_tell_their_shapes_apart() -> None:
    frames, points, confidence = render_with_keypoints(("HELLO",), make_signer(3), seed=1)
    assert points.shape == (len(frames), kp.MODEL_POINTS, 3) and confidence.shape == points.shape[:2]
    height, width = frames[0].shape[:2]
    seen = confidence > 0
    assert ((points[..., 0] >= 0) & (points[..., 0] < width) & (points[..., 1] >= 0) & (points[..., 1] < height))[seen].all()
    assert seen[:, kp.HAND_OFFSETS[kp.LEFT_HAND] :].all() and seen[:, kp.LEFT_SHOULDER].all()
    flat, fist = hand_keypoints((50, 50), 5, "flat", False), hand_keypoints((50, 50), 5, "fist", False)
    reach = lambda hand: np.linalg.norm(hand[[8, 12, 16, 20]] - hand[0], axis=1).mean()  # noqa: E731 -- fingertips from the wrist
    assert reach(flat) > 1.4 * reach(fist)


@pytest.fixture(scope="module")
def signing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("signing-poses")
    make_signing_corpus(root, train_clips=16, val_clips=4, test_clips=4, seed=4, workers=2, exact_keypoints=True)
    return root


def pose_only_corpus(signing: Path, root: Path) -> Path:
    """The signing corpus as iSign ships its poses: `.pose` files and a CSV, no videos; one file truncated."""
    poses = root / "poses"
    poses.mkdir()
    rows = list(csv.DictReader((signing / "sentences.csv").open(encoding="utf-8")))
    for row in rows:
        shutil.copy(signing / "videos" / Path(row["video"]).with_suffix(".pose"), poses)
    damaged = poses / Path(rows[0]["video"]).with_suffix(".pose").name
    damaged.write_bytes(damaged.read_bytes()[:200])
    with (root / "poses.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["video", "text", "split"])
        writer.writerows([Path(r["video"]).stem + ".pose", r["text"], r["split"]] for r in rows)
    return root


def test_a_pose_only_corpus_prepares_trains_evaluates_and_translates(signing: Path, tmp_path: Path) -> None:
    from isltk.cli.app import app
    from isltk.evaluation.evaluate import evaluate_split
    from isltk.evaluation.inference import load_translator, translate_clips
    from tests.conftest import micro_config

    root = pose_only_corpus(signing, tmp_path)
    cfg = micro_config(root, tmp_path / "runs", num_epochs=2)
    cfg.data.csv_path, cfg.data.video_dir, cfg.data.prepared_dir = root / "poses.csv", root / "poses", tmp_path / "prepared"
    cfg.data.sample_fps, cfg.data.keypoints, cfg.data.pixels = 10.0, "pose_files", False
    report = prepare_cache(cfg, workers=2)
    assert report.usable == 23 and [r.reason for r in report.rejects if "truncated or corrupt" in r.reason]
    assert report.hands_found == pytest.approx(1.0)  # the ground truth has both hands in every frame
    records = cache.load_manifest(cfg.data.prepared_dir)
    clips = cache.clips_dir(cfg.data.prepared_dir)
    assert not list(clips.glob("*.npy")) and len(list(clips.glob("*.pose"))) == 23  # keypoints, no frames
    stored = kp.read_pose(kp.keypoints_path(clips, records[0]["key"]))
    assert stored.body.data.shape[0] == records[0]["frames"] == min(128, max(4, round(records[0]["duration_s"] * 10)))
    assert prepare_cache(cfg, workers=1).reused == 23

    config_path = tmp_path / "poses.yaml"
    config_path.write_text(yaml.safe_dump(cfg.model_dump(mode="json")))
    trained = CliRunner().invoke(app, ["train", "-c", str(config_path), "--out", str(tmp_path / "run")], env={"COLUMNS": "300"})
    assert trained.exit_code == 0, trained.output
    assert "keypoint encoder" in trained.output and "ViT" not in trained.output  # the start line names what reads frames
    loaded = load_translator(tmp_path / "run", device="cpu")
    assert loaded.model.encoder is None and loaded.model.keypoints is not None  # no ViT: keypoints alone
    scored = evaluate_split(loaded, "test", 1, 1.0, tmp_path / "eval")
    bleu4 = next(s for s in scored.scores if s.name == "BLEU-4")
    assert 0.0 <= bleu4.value <= 100.0 and "case:lc" in bleu4.signature
    test_pose = root / "poses" / next(r["id"] + ".pose" for r in records if r["split"] == "test")
    results = list(translate_clips(loaded, [test_pose, root / "poses" / "missing.pose"], beam=1, alpha=1.0))
    assert results[0].error == "" and results[0].text
    assert "pose file not found" in results[1].error
    folder = tmp_path / "new-poses"  # a folder given to translate: its .pose files are the clips (its CSV is not)
    folder.mkdir()
    shutil.copy(test_pose, folder)
    (folder / "notes.csv").write_text("not a clip\n")
    translated = CliRunner().invoke(app, ["translate", str(folder), "--checkpoint", str(tmp_path / "run"), "--json"])
    assert translated.exit_code == 0, translated.output
    lines = [json.loads(line) for line in translated.stdout.splitlines() if line.startswith("{")]
    assert [line["id"] for line in lines] == [test_pose.stem] and "text" in lines[0]


def test_keypoints_beside_pixels_are_stored_at_the_stored_frames_and_read_by_the_model(signing: Path, tmp_path: Path) -> None:
    from isltk.training.trainer import Trainer
    from tests.conftest import micro_config

    cfg = micro_config(signing, tmp_path / "runs", num_epochs=1)
    cfg.data.prepared_dir, cfg.data.keypoints = tmp_path / "prepared", "pose_files"
    assert prepare_cache(cfg, workers=2).usable == 24
    clips = cache.clips_dir(cfg.data.prepared_dir)
    for record in cache.load_manifest(cfg.data.prepared_dir):
        frames = np.load(cache.clip_frames_path(cfg.data.prepared_dir, record["key"], "npy"), mmap_mode="r")
        assert kp.read_pose(kp.keypoints_path(clips, record["key"])).body.data.shape[0] == len(frames) == 12
    trainer = Trainer(cfg, tmp_path / "run")
    batch = next(iter(trainer._loader()))
    assert batch["keypoints"].shape[:2] == batch["frames"].shape[:2] and batch["keypoints"].shape[2:] == (75, 5)
    assert trainer.model.encoder is not None and trainer.model.keypoints is not None
    trainer.fit()
    cfg.data.keypoints = "none"  # another keypoint setting: the cache is refused, not mixed
    with pytest.raises(DataError, match="keypoints: pose_files -> none"):
        prepare_cache(cfg, workers=1)


def test_kill_9_mid_prepare_with_keypoints_then_rerun_matches_uninterrupted(signing: Path, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.test_prepare import cache_snapshot

    def command(prepared: Path, jobs: str) -> list[str]:
        return [sys.executable, "-m", "isltk", "prepare", "-c", "configs/tiny.yaml", "-j", jobs,
                "--set", f"data.video_dir={signing / 'videos'}", "--set", f"data.csv_path={signing / 'sentences.csv'}",
                "--set", f"data.prepared_dir={prepared}", "--set", "data.keypoints=pose_files"]

    clips = cache.clips_dir(tmp_path / "prepared")
    process = subprocess.Popen(command(tmp_path / "prepared", "1"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and len(list(clips.glob("*.pose"))) < 3:
        time.sleep(0.005)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert 3 <= len(list(clips.glob("*.pose"))) < 24, "the kill must land mid-run"
    resumed = subprocess.run(command(tmp_path / "prepared", "2"), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "at least one hand found in 100.0% of stored frames" in resumed.stdout
    subprocess.run(command(tmp_path / "reference", "1"), check=True, capture_output=True)
    assert cache_snapshot(tmp_path / "prepared") == cache_snapshot(tmp_path / "reference")


def test_hand_crops_are_cut_where_the_keypoints_place_the_hands_and_read_by_the_hand_encoder(signing: Path, tmp_path: Path) -> None:
    from isltk.data.framestore import FrameFile
    from isltk.data.hands import hands_path
    from isltk.synth.signing import Body
    from isltk.training.trainer import Trainer
    from tests.conftest import micro_config

    cfg = micro_config(signing, tmp_path / "runs", num_epochs=1)
    cfg.data.prepared_dir, cfg.data.keypoints, cfg.data.hand_crop_px = tmp_path / "prepared", "pose_files", 24
    assert prepare_cache(cfg, workers=2).usable == 24
    clips = cache.clips_dir(cfg.data.prepared_dir)
    rows = {r["video"]: r for r in csv.DictReader((signing / "sentences.csv").open(encoding="utf-8"))}
    for record in cache.load_manifest(cfg.data.prepared_dir)[:6]:
        crops = FrameFile(hands_path(clips, record["key"])).read()
        assert crops.shape == (2 * record["frames"], 24, 24, 3)
        signer = make_signer(int(rows[record["id"] + ".mp4"]["signer"].removeprefix("signer")))
        skin = np.array(Body(signer, np.random.default_rng(0)).skin, np.float32)
        centre = crops[:, 9:15, 9:15].reshape(-1, 3).astype(np.float32)  # the middle of each crop: the palm
        assert np.median(np.abs(centre - skin).sum(1)) < 60, "crops must sit on the hands"
    trainer = Trainer(cfg, tmp_path / "run")
    batch = next(iter(trainer._loader()))
    assert batch["hands"].shape[2:] == (2, 24, 24, 3) and batch["hands_found"].all()
    assert trainer.model.hands is not None
    trainer.fit()
    from isltk.evaluation.inference import load_translator, translate_clips

    loaded = load_translator(tmp_path / "run", device="cpu")
    test_video = signing / "videos" / next(v for v, r in rows.items() if r["split"] == "test")
    result = next(translate_clips(loaded, [test_video], beam=1, alpha=1.0))  # crops cut from the new clip the same way
    assert result.error == "" and result.text

    # inputs rgb + hands: the keypoints only place the crops, the same cache serves, no keypoint encoder is built
    cfg.data.keypoint_stream = False
    model = Trainer(cfg, tmp_path / "run-hands-only").model
    assert model.hands is not None and model.keypoints is None and model.encoder is not None
    from isltk.config import DataConfig

    with pytest.raises(ValueError, match="keypoint_stream false"):  # without crops the keypoints would go unread
        DataConfig.model_validate(cfg.data.model_dump() | {"hand_crop_px": 0})
    with pytest.raises(ValueError, match="hand_crop_px 8 is too small"):  # three poolings would leave a 1 px map
        DataConfig.model_validate(cfg.data.model_dump() | {"hand_crop_px": 8})
