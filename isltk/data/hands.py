"""Hand crops placed by keypoints (`data.hand_crop_px`): per stored frame, one square crop per hand, cut from the
decoded full-size frame and stored beside the frames as `clips/<key>.hands.jpgs.npz` (JPEG, like the frames).

A hand is 10-30 px across in a 72-224 px frame; a crop gives the hand encoder the hand at its full decoded
resolution, wherever it is. The box is centred on the hand's keypoints and its side is `BOX_PER_SHOULDER` of
the clip's shoulder width (its median: a hand's size follows the body, not its shape, so a fist and a spread
hand get the same box). A clip whose shoulders are never found sizes the box from the hand's own extent.

Where the hand model missed a hand (MediaPipe Holistic: ~27% of real ISL frames have neither hand; it loses
a hand in runs of frames) the body model usually still has that hand's wrist and its index and pinky knuckles
(`BODY_HAND`): the box is then centred between the two knuckles, the middle of an open hand's wrist-to-fingertip
length, so the hand encoder still sees the hand and only the keypoint stream lacks its 21 points. Without the
body's points either, the hand is not found.

Stored in frame order, left hand then right hand: frame t's crops are stored images 2t and 2t + 1. A hand not
found in a frame is stored black and marked not found (`crop_found`: the keypoints say which, so the loader
and `translate` derive the same mask); the model gives it a learned embedding, never the black crop.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from isltk.data.keypoints import BODY_POINTS, HAND_OFFSETS, LEFT_HAND, RIGHT_HAND, hand_points, shoulder_width

SUFFIX = ".hands.jpgs.npz"
HANDS = (LEFT_HAND, RIGHT_HAND)
BOX_PER_SHOULDER = 0.9  # a hand (~19 cm) is about half a shoulder width (~40 cm): room for spread fingers and motion
BOX_PER_EXTENT = 1.6  # without shoulders: the found points' extent, with a margin
BODY_HAND = {hand: tuple(BODY_POINTS.index(f"{side}_{name}") for name in ("WRIST", "INDEX", "PINKY"))
             for hand, side in ((LEFT_HAND, "LEFT"), (RIGHT_HAND, "RIGHT"))}  # the body model's points of each hand


def hands_path(clips_dir: Path, key: str) -> Path:
    return clips_dir / f"{key}{SUFFIX}"


def _hand_model_found(found: np.ndarray, hand: str) -> np.ndarray:
    return found[:, HAND_OFFSETS[hand]]  # its wrist: the hand model reports a hand's 21 points or none


def _body_model_found(found: np.ndarray, hand: str) -> np.ndarray:
    return found[:, list(BODY_HAND[hand])].all(1)


def crop_found(found: np.ndarray) -> np.ndarray:
    """(T, 75) keypoints found -> (T, 2) whether each hand's crop is placed (left, right): the hand model found
    it, or the body model has its wrist and knuckles."""
    return np.stack([_hand_model_found(found, hand) | _body_model_found(found, hand) for hand in HANDS], axis=1)


def crop_boxes(xy: np.ndarray, found: np.ndarray) -> np.ndarray:
    """(T, 75, 2) pixels + (T, 75) found -> (T, 2, 3) boxes (centre x, centre y, side) per frame and hand, zero
    where `crop_found` is false."""
    shoulder = shoulder_width(xy, found)
    boxes = np.zeros((len(xy), len(HANDS), 3), np.float32)
    for h, hand in enumerate(HANDS):
        points = hand_points(hand)
        wrist, index, pinky = BODY_HAND[hand]
        by_hand, by_body = _hand_model_found(found, hand), _body_model_found(found, hand)
        for t in range(len(xy)):
            if by_hand[t]:
                seen = xy[t, points][found[t, points]]
                centre, extent = seen.mean(0), float((seen.max(0) - seen.min(0)).max())
            elif by_body[t]:
                centre = (xy[t, index] + xy[t, pinky]) / 2
                extent = 2 * float(np.linalg.norm(centre - xy[t, wrist]))  # wrist to knuckles is about half the hand
            else:
                continue
            side = BOX_PER_SHOULDER * shoulder if shoulder > 0 else BOX_PER_EXTENT * extent
            boxes[t, h] = (*centre, max(side, 4.0))
    return boxes


def cut_crops(frames_rgb: list[np.ndarray], boxes: np.ndarray, found: np.ndarray, size: int) -> np.ndarray:
    """(T, 2, size, size, 3) uint8 crops of full-size RGB frames at `boxes`; edges replicated where a box leaves the
    frame (a hand at the border), black where the hand was not found."""
    crops = np.zeros((len(frames_rgb), len(HANDS), size, size, 3), np.uint8)
    for t, frame in enumerate(frames_rgb):
        for h in range(len(HANDS)):
            if not found[t, h]:
                continue
            cx, cy, side = boxes[t, h]
            scale = size / side
            matrix = np.float32([[scale, 0, size / 2 - cx * scale], [0, scale, size / 2 - cy * scale]])
            crops[t, h] = cv2.warpAffine(frame, matrix, (size, size), flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
                                         borderMode=cv2.BORDER_REPLICATE)
    return crops


def clip_crops(frames_rgb: list[np.ndarray], xy: np.ndarray, found: np.ndarray, size: int) -> np.ndarray:
    """A clip's hand crops (T, 2, size, size, 3) from its full-size frames and keypoints at those frames."""
    return cut_crops(frames_rgb, crop_boxes(xy, found), crop_found(found), size)
