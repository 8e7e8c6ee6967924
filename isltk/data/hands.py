"""Hand crops placed by keypoints (`data.hand_crop_px`): per stored frame, one square crop per hand, cut from the
decoded full-size frame and stored beside the frames as `clips/<key>.hands.jpgs.npz` (JPEG, like the frames).

A hand is 10-30 px across in a 72-224 px frame; a crop gives the hand encoder the hand at its full decoded
resolution, wherever it is. The box is centred on the hand's keypoints and its side is `BOX_PER_SHOULDER` of
the clip's shoulder width (its median: a hand's size follows the body, not its shape, so a fist and a spread
hand get the same box). A clip whose shoulders are never found sizes the box from the hand's own extent.
Stored in frame order, left hand then right hand: frame t's crops are stored images 2t and 2t + 1. A hand not
found in a frame is stored black and marked not found (the keypoints say which); the model gives it a learned
embedding, never the black crop.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from isltk.data.keypoints import HAND_OFFSETS, LEFT_HAND, RIGHT_HAND, hand_points, shoulder_width

SUFFIX = ".hands.jpgs.npz"
HANDS = (LEFT_HAND, RIGHT_HAND)
BOX_PER_SHOULDER = 0.9  # a hand (~19 cm) is about half a shoulder width (~40 cm): room for spread fingers and motion
BOX_PER_EXTENT = 1.6  # without shoulders: the found points' extent, with a margin


def hands_path(clips_dir: Path, key: str) -> Path:
    return clips_dir / f"{key}{SUFFIX}"


def hands_found(found: np.ndarray) -> np.ndarray:
    """(T, 75) keypoints found -> (T, 2) hand found (its wrist found), left then right."""
    return np.stack([found[:, HAND_OFFSETS[hand]] for hand in HANDS], axis=1)


def crop_boxes(xy: np.ndarray, found: np.ndarray) -> np.ndarray:
    """(T, 75, 2) pixels + (T, 75) found -> (T, 2, 3) boxes (centre x, centre y, side) per frame and hand."""
    shoulder = shoulder_width(xy, found)
    boxes = np.zeros((len(xy), len(HANDS), 3), np.float32)
    for h, hand in enumerate(HANDS):
        points = hand_points(hand)
        for t in range(len(xy)):
            seen = xy[t, points][found[t, points]]
            if not len(seen):
                continue
            extent = float((seen.max(0) - seen.min(0)).max())
            side = BOX_PER_SHOULDER * shoulder if shoulder > 0 else BOX_PER_EXTENT * extent
            boxes[t, h] = (*seen.mean(0), max(side, 4.0))
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
    return cut_crops(frames_rgb, crop_boxes(xy, found), hands_found(found), size)
