from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from isltk.cli.app import app
from isltk.data import keypoints as kp
from isltk.synth.detector import LOST_SHARE, REFIND, as_detected, lost_runs
from isltk.synth.signing import make_signer, make_signing_corpus, render_with_keypoints


def test_a_hand_is_lost_in_runs_at_the_stationary_share() -> None:
    lost = lost_runs(200_000, np.random.default_rng(0))
    assert abs(lost.mean() - LOST_SHARE) < 0.01
    starts = np.flatnonzero(np.diff(lost.astype(int)) == 1)
    assert abs(lost.sum() / len(starts) - 1 / REFIND) < 0.1  # mean run length in frames


def test_detected_keypoints_jitter_lose_hands_and_leave_the_body_model_s_wrists() -> None:
    frames, points, confidence = render_with_keypoints(("HELLO", "YOU", "EAT"), make_signer(3), seed=1)
    seen, seen_confidence = as_detected(points, confidence, seed=5)
    again, _ = as_detected(points, confidence, seed=5)
    np.testing.assert_array_equal(seen, again)  # the same clip seed gives the same points
    assert not np.array_equal(as_detected(points, confidence, seed=6)[0], seen)
    shoulder = np.linalg.norm(points[0, kp.LEFT_SHOULDER, :2] - points[0, kp.RIGHT_SHOULDER, :2])
    for hand in (kp.LEFT_HAND, kp.RIGHT_HAND):
        part = slice(kp.HAND_OFFSETS[hand], kp.HAND_OFFSETS[hand] + len(kp.HAND_POINTS))
        found = seen_confidence[:, part].all(axis=1)
        assert ((seen_confidence[:, part] == 0).all(axis=1) == ~found).all()  # a hand is found or lost whole
        assert 0 < (~found).sum() < len(frames)
        assert (seen[~found, part] == 0).all()
        error = np.linalg.norm(seen[found, part, :2] - points[found, part, :2], axis=-1) / shoulder
        assert 0.005 < np.median(error) < 0.1  # a pixel or two on a 50-60 px shoulder width, never exact
    wrists = [kp.BODY_POINTS.index(name) for name in ("LEFT_WRIST", "RIGHT_WRIST")]
    assert (seen_confidence[:, wrists] == confidence[:, wrists]).all()  # the pose model still places the wrists


def test_the_signing_corpus_writes_detected_keypoints_unless_asked_for_the_exact_ones(tmp_path: Path) -> None:
    detected = make_signing_corpus(tmp_path / "detected", 2, 0, 0, seed=3).parent / "videos"
    exact = make_signing_corpus(tmp_path / "exact", 2, 0, 0, seed=3, exact_keypoints=True).parent / "videos"
    for name in ("train_00000", "train_00001"):
        assert (detected / f"{name}.mp4").read_bytes() == (exact / f"{name}.mp4").read_bytes()  # the same frames
        _, found = kp.model_points(kp.read_pose(detected / f"{name}.pose"))
        _, all_found = kp.model_points(kp.read_pose(exact / f"{name}.pose"))
        assert kp.hands_found(all_found) == 1.0 and found.sum() < all_found.sum()


def test_synth_writes_the_exact_keypoints_when_asked_and_refuses_the_flag_for_the_simple_corpus(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["synth", str(tmp_path / "exact"), "--train", "1", "--val", "0", "--test", "0", "--exact-keypoints"])
    assert result.exit_code == 0, result.output
    _, found = kp.model_points(kp.read_pose(tmp_path / "exact" / "videos" / "train_00000.pose"))
    assert kp.hands_found(found) == 1.0
    assert "exact drawn keypoints" in (tmp_path / "exact" / "README.txt").read_text()
    refused = runner.invoke(app, ["synth", str(tmp_path / "simple"), "--style", "simple", "--exact-keypoints"])
    assert refused.exit_code != 0 and "--exact-keypoints is for --style signing" in refused.output
    assert not (tmp_path / "simple").exists()
