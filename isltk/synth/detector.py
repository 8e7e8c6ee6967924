"""The synthetic signer's keypoints as a keypoint detector would report them, not as they were drawn.

The signing corpus knows every point exactly: 21 per hand, every frame. A model fed those reads a held hand shape
from the points themselves, so a learning figure on them is an upper bound, not a forecast for MediaPipe on real
hands. `as_detected` degrades them the way a detector does, so the corpus's `.pose` files test the keypoint paths
with what they will meet:
- **Hands lost in runs.** Each hand is lost and found again as a two-state chain (P(lost | found) = LOSE,
  P(found | lost) = REFIND): lost in LOST_SHARE = 24% of frames, in runs of 1 / REFIND = 4 frames on average
  (0.16 s). MediaPipe Holistic found at least one hand in ~73% of the real ISL frames measured here
  (docs/data.md); the hands drawn here are never occluded or blurred, hence fewer losses. A lost hand's 21
  points are not found (confidence 0); the body model's wrist, index, pinky and thumb points stay, as
  Holistic's pose model reports them when its hand model misses.
- **Jitter.** Per frame and hand a shift of the whole hand (HAND_SHIFT shoulder widths, s.d.) plus a shift per
  point (POINT_JITTER), and POINT_JITTER on every body point: a detector's landmarks wander by a pixel or two
  on a 50-60 px shoulder width even on a still hand.
The frames are untouched; the same clip seed gives the same detected points.
"""

from __future__ import annotations

import numpy as np

from isltk.data.keypoints import BODY_POINTS, HAND_POINTS, LEFT_HAND, RIGHT_HAND, hand_points, shoulder_width

LOSE, REFIND = 0.08, 0.25
LOST_SHARE = LOSE / (LOSE + REFIND)
HAND_SHIFT = 0.03  # shoulder widths
POINT_JITTER = 0.015  # shoulder widths
DETECTOR_STREAM = 1


def lost_runs(frames: int, rng: np.random.Generator) -> np.ndarray:
    """(frames,) bool: where one hand is lost, a two-state chain started from its stationary share."""
    lost = np.zeros(frames, bool)
    state = rng.random() < LOST_SHARE
    for t, draw in enumerate(rng.random(frames)):
        lost[t] = state
        state = draw >= REFIND if state else draw < LOSE
    return lost


def as_detected(points: np.ndarray, confidence: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(T, 75, 3) exact pixels + (T, 75) confidence (body, left hand, right hand) -> the same as a detector reports
    them: jittered, each hand lost in runs (points 0, confidence 0)."""
    rng = np.random.default_rng([seed, DETECTOR_STREAM])  # not the renderer's stream: the frames stay as they were
    shoulder = shoulder_width(points[..., :2], confidence > 0)
    points, confidence = points.copy(), confidence.copy()
    frames = len(points)
    points[:, : len(BODY_POINTS), :2] += rng.normal(0, POINT_JITTER * shoulder, (frames, len(BODY_POINTS), 2))
    for hand in (LEFT_HAND, RIGHT_HAND):
        part = hand_points(hand)
        shift = rng.normal(0, HAND_SHIFT * shoulder, (frames, 1, 2))
        points[:, part, :2] += shift + rng.normal(0, POINT_JITTER * shoulder, (frames, len(HAND_POINTS), 2))
        lost = lost_runs(frames, rng)
        points[lost, part] = 0.0
        confidence[lost, part] = 0.0
    return points, confidence
