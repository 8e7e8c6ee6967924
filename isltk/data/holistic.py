"""MediaPipe Holistic on a clip's stored frames (`data.keypoints: mediapipe`): body, face and both hands per frame.

MediaPipe is optional: `make keypoints` installs mediapipe 0.10.21 (the last release whose wheel ships the
Holistic, hand and pose models) without its declared dependencies, which would replace numpy 2 with 1.x and add
opencv-contrib into the same `cv2/` folder as opencv-headless; protobuf<5 and attrs are all it needs beside
isltk's own. Without it, `require_mediapipe` says so in one line.

Holistic runs at the decoded resolution, before the frames are resized for the ViT (a hand is 10-30 px in a
224 px frame), with model_complexity 1 (0 and 2 download models the wheel lacks). A fresh detector per clip
tracks across that clip's frames only, so a clip's keypoints never depend on which clip a worker did before:
an interrupted prepare resumes to the same bytes. The points are stored as pose-format's own `video_to_pose`
stores them: pixel x, y, MediaPipe's z, and confidence (the body's visibility; 1 for a found face or hand
point, 0 where a part was not found).
"""

from __future__ import annotations

import os

import numpy as np

from isltk.data.keypoints import BODY, FACE, HOLISTIC, LEFT_HAND, RIGHT_HAND, WORLD, holistic_pose
from isltk.errors import DataError

COMPONENTS = (BODY, FACE, LEFT_HAND, RIGHT_HAND, WORLD)  # pose-format's holistic order
MODEL_COMPLEXITY = 1
INSTALL = ("data.keypoints: mediapipe needs MediaPipe, which is not installed here: run `make keypoints` "
           "(mediapipe 0.10.21 beside numpy 2, without opencv-contrib; docs/data.md)")


def require_mediapipe() -> None:
    """Fail in one line, before any clip is decoded, when MediaPipe is missing."""
    try:
        _mediapipe()
    except ImportError:
        raise DataError(INSTALL) from None


def _mediapipe():  # noqa: ANN202 -- the module
    os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ log lines on every detector start
    import mediapipe

    return mediapipe


def _part(landmarks, count: int, width: int, height: int, visibility: bool) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    if landmarks is None:
        return np.zeros((count, 3), np.float32), np.zeros(count, np.float32)
    points = landmarks.landmark
    xyz = np.array([[p.x * width, p.y * height, p.z] for p in points], np.float32)
    confidence = np.array([p.visibility for p in points] if visibility else [1.0] * len(points), np.float32)
    return xyz, confidence


def extract(frames_rgb: list[np.ndarray], fps: float):  # noqa: ANN201 -- a pose_format.Pose
    """Holistic keypoints of consecutive RGB frames (one clip's stored frames, full size) as a pose-format Pose."""
    try:
        holistic = _mediapipe().solutions.holistic
    except ImportError:
        raise DataError(INSTALL) from None
    height, width = frames_rgb[0].shape[:2]
    points, confidence = [], []
    with holistic.Holistic(static_image_mode=False, model_complexity=MODEL_COMPLEXITY) as detector:
        for frame in frames_rgb:
            found = detector.process(np.ascontiguousarray(frame))
            parts = [_part(found.pose_landmarks, len(HOLISTIC[BODY]), width, height, True),
                     _part(found.face_landmarks, len(HOLISTIC[FACE]), width, height, False),
                     _part(found.left_hand_landmarks, len(HOLISTIC[LEFT_HAND]), width, height, False),
                     _part(found.right_hand_landmarks, len(HOLISTIC[RIGHT_HAND]), width, height, False),
                     _part(found.pose_world_landmarks, len(HOLISTIC[WORLD]), 1, 1, True)]
            points.append(np.concatenate([p for p, _ in parts]))
            confidence.append(np.concatenate([c for _, c in parts]))
    return holistic_pose(np.stack(points), np.stack(confidence), fps, width, height, COMPONENTS)
