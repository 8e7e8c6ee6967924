"""MediaPipe Holistic in prepare (`data.keypoints: mediapipe`) on a real photograph of a person.

The photograph is scikit-image's `astronaut` (Eileen Collins, NASA; shipped inside the scikit-image wheel).
Both come with `make keypoints`; without it these tests skip, saying so, and the missing-install message is
checked on its own.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from isltk.data import cache
from isltk.data import keypoints as kp
from isltk.data.holistic import require_mediapipe
from isltk.data.prepare import prepare_cache
from isltk.errors import DataError
from isltk.synth.encode import write_video_opencv
from tests.conftest import small_config, write_csv

NEEDS = "MediaPipe and scikit-image come with `make keypoints` (not part of the main install)"


def test_without_mediapipe_prepare_says_how_to_install_it_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mediapipe", None)  # as if not installed: `import mediapipe` raises ImportError
    with pytest.raises(DataError, match=r"run `make keypoints`") as raised:
        require_mediapipe()
    assert "\n" not in str(raised.value)


def astronaut_clip(folder: Path) -> Path:
    """A 1.6 s clip of the photograph, the camera panning slowly (a video of a real person, not a drawing)."""
    data = pytest.importorskip("skimage.data", reason=NEEDS)
    photo = data.astronaut()
    frames = [np.roll(photo, shift=2 * i, axis=1) for i in range(40)]
    folder.mkdir(parents=True, exist_ok=True)
    write_video_opencv(folder / "astronaut.mp4", frames, 25.0)
    return folder / "astronaut.mp4"


def test_prepare_finds_the_pose_of_a_real_person_at_full_size_and_stores_it_reproducibly(tmp_path: Path) -> None:
    pytest.importorskip("mediapipe", reason=NEEDS)
    astronaut_clip(tmp_path / "videos")
    write_csv(tmp_path / "sentences.csv", ["video", "text", "split"], [["astronaut.mp4", "Hello.", "train"]])
    cfg = small_config(tmp_path, keypoints="mediapipe", sample_fps=5.0, min_frames=4, image_size=32)
    report = prepare_cache(cfg, workers=1)
    assert report.usable == 1 and report.hands_found is not None and 0.0 <= report.hands_found <= 1.0
    record = cache.load_manifest(cfg.data.prepared_dir)[0]
    stored = cache.clip_keypoints_path(cfg.data.prepared_dir, record["key"])
    pose = kp.read_pose(stored)
    assert [c.name for c in pose.header.components] == [kp.BODY, kp.FACE, kp.LEFT_HAND, kp.RIGHT_HAND, kp.WORLD]
    assert pose.body.data.shape == (record["frames"], 1, 576, 3) == (8, 1, 576, 3)
    assert (pose.header.dimensions.width, pose.header.dimensions.height) == (512, 512)  # found at full size, not 32 px
    xy, found = kp.model_points(pose)
    assert found[:, kp.LEFT_SHOULDER].all() and found[:, kp.RIGHT_SHOULDER].all()
    nose, shoulders = xy[:, 0], xy[:, [kp.LEFT_SHOULDER, kp.RIGHT_SHOULDER]]
    assert (nose[:, 1] < shoulders[..., 1].min(1)).all()  # the head above the shoulders, in pixels of the photo
    assert (np.abs(shoulders[:, 0, 0] - shoulders[:, 1, 0]) > 100).all()  # a person's width, not a speck

    again = small_config(tmp_path, keypoints="mediapipe", sample_fps=5.0, min_frames=4, image_size=32,
                         prepared_dir=tmp_path / "again")
    prepare_cache(again, workers=1)
    assert cache.clip_keypoints_path(again.data.prepared_dir, record["key"]).read_bytes() == stored.read_bytes()
