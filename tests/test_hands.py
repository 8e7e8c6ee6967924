"""Hand crops placed by keypoints (isltk.data.hands): by the hand model, else by the body model's wrist and knuckles."""

from __future__ import annotations

import numpy as np

from isltk.data import hands
from isltk.data import keypoints as kp
from isltk.synth.signing import make_signer, render_with_keypoints


def signing_frame(gloss: str = "SORRY", seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    frames, points, confidence = render_with_keypoints((gloss,), make_signer(4), seed=seed)
    return frames[0], points[:1], confidence[:1]


def test_a_hand_the_hand_model_missed_is_cropped_where_the_body_model_has_its_wrist_and_knuckles() -> None:
    frame, points, confidence = signing_frame()
    xy, found = points[..., :2], confidence > 0
    by_hand = hands.crop_boxes(xy, found)
    lost = found.copy()
    lost[:, kp.hand_points(kp.RIGHT_HAND)] = False  # the hand model missed the right hand; the body model did not
    by_body = hands.crop_boxes(xy, lost)
    assert hands.crop_found(lost).all()
    np.testing.assert_array_equal(by_body[:, 0], by_hand[:, 0])  # the left hand keeps its own points' box
    side = by_hand[0, 1, 2]
    assert side == by_body[0, 1, 2]  # the box's size follows the body, not who placed it
    assert np.linalg.norm(by_body[0, 1, :2] - by_hand[0, 1, :2]) < side / 4, "both boxes must frame the same hand"
    crops = hands.clip_crops([frame], xy, lost, 32)
    overlap = np.abs(crops[0, 1].astype(int) - hands.clip_crops([frame], xy, found, 32)[0, 1].astype(int)).mean()
    assert crops[0, 1].any() and overlap < 40  # mostly the same pixels, not a black crop


def test_a_hand_neither_model_found_is_not_found_and_stored_black() -> None:
    frame, points, confidence = signing_frame()
    found = confidence > 0
    found[:, kp.hand_points(kp.RIGHT_HAND)] = False
    found[:, kp.BODY_POINTS.index("RIGHT_WRIST")] = False  # below the frame: the body model's visibility says so
    assert hands.crop_found(found)[0].tolist() == [True, False]
    crops = hands.clip_crops([frame], points[..., :2], found, 32)
    assert crops[0, 0].any() and not crops[0, 1].any()


def test_a_body_point_below_mediapipes_visibility_cut_off_is_not_found() -> None:
    points = np.random.default_rng(0).uniform(10, 150, (2, kp.MODEL_POINTS, 3)).astype(np.float32)
    confidence = np.ones((2, kp.MODEL_POINTS), np.float32)
    wrist = kp.BODY_POINTS.index("LEFT_WRIST")
    confidence[0, wrist] = 0.2  # Holistic reports every body point, with a visibility: this wrist is out of view
    _, found = kp.model_points(kp.holistic_pose(points, confidence, 25, 160, 120))
    assert not found[0, wrist] and found[1, wrist] and found[0, kp.HAND_OFFSETS[kp.LEFT_HAND]]
    assert hands.crop_found(found).all()  # the hand model found that hand: its crop stands
