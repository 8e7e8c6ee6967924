"""Keypoints per frame: pose-format's `.pose` files (MediaPipe Holistic's layout), read, written and normalised.

iSign ships its poses as `.pose` files of the `pose-format` library (MediaPipe Holistic: body, face, both hands,
world body); `prepare` stores a clip's keypoints in the same format beside its frames (`clips/<key>.pose`),
whether they came from such a file (`data.keypoints: pose_files`), from MediaPipe run on the clip
(`mediapipe`, isltk.data.holistic) or from a synthetic corpus's ground truth.

The model reads the body and both hands (33 + 21 + 21 points; `MODEL_COMPONENTS`): the face mesh's 468 points
are left out. Coordinates are normalised as pose-based sign language work does, relative to the body: the
shoulders' centre is the origin and their distance the unit, taken per clip (the median over the frames where
both shoulders were found, so one bad frame does not move the others); each hand point also gets its offset
from its own wrist (the hand's shape whatever its place). A point not found (confidence 0: a hand out of view,
a frame where the detector failed; a body point below MediaPipe's visibility cut-off) is zeroed *and* marked in
a `found` channel, never silently zero-filled.

Holistic's point names are written out here: pose-format's own holistic helper imports MediaPipe at import
time, and reading or writing a `.pose` file must not need it.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from isltk.data.video import IMAGE_FOLDER_FPS, FrameSampling, pick_frames
from isltk.errors import DataError
from isltk.fsutil import atomic_write

SUFFIX = ".pose"
BODY_POINTS = (
    "NOSE", "LEFT_EYE_INNER", "LEFT_EYE", "LEFT_EYE_OUTER", "RIGHT_EYE_INNER", "RIGHT_EYE", "RIGHT_EYE_OUTER",
    "LEFT_EAR", "RIGHT_EAR", "MOUTH_LEFT", "MOUTH_RIGHT", "LEFT_SHOULDER", "RIGHT_SHOULDER", "LEFT_ELBOW",
    "RIGHT_ELBOW", "LEFT_WRIST", "RIGHT_WRIST", "LEFT_PINKY", "RIGHT_PINKY", "LEFT_INDEX", "RIGHT_INDEX",
    "LEFT_THUMB", "RIGHT_THUMB", "LEFT_HIP", "RIGHT_HIP", "LEFT_KNEE", "RIGHT_KNEE", "LEFT_ANKLE", "RIGHT_ANKLE",
    "LEFT_HEEL", "RIGHT_HEEL", "LEFT_FOOT_INDEX", "RIGHT_FOOT_INDEX",
)
HAND_POINTS = (
    "WRIST", "THUMB_CMC", "THUMB_MCP", "THUMB_IP", "THUMB_TIP", "INDEX_FINGER_MCP", "INDEX_FINGER_PIP",
    "INDEX_FINGER_DIP", "INDEX_FINGER_TIP", "MIDDLE_FINGER_MCP", "MIDDLE_FINGER_PIP", "MIDDLE_FINGER_DIP",
    "MIDDLE_FINGER_TIP", "RING_FINGER_MCP", "RING_FINGER_PIP", "RING_FINGER_DIP", "RING_FINGER_TIP", "PINKY_MCP",
    "PINKY_PIP", "PINKY_DIP", "PINKY_TIP",
)
FACE_POINTS = tuple(str(i) for i in range(468))
BODY, FACE, LEFT_HAND, RIGHT_HAND, WORLD = ("POSE_LANDMARKS", "FACE_LANDMARKS", "LEFT_HAND_LANDMARKS",
                                            "RIGHT_HAND_LANDMARKS", "POSE_WORLD_LANDMARKS")
HOLISTIC = {BODY: BODY_POINTS, FACE: FACE_POINTS, LEFT_HAND: HAND_POINTS, RIGHT_HAND: HAND_POINTS, WORLD: BODY_POINTS}
MODEL_COMPONENTS = (BODY, LEFT_HAND, RIGHT_HAND)  # what the model reads, in this order
MODEL_POINTS = sum(len(HOLISTIC[c]) for c in MODEL_COMPONENTS)  # 75
CHANNELS = 5  # x, y relative to the body; x, y relative to the point's own wrist (hands; 0 for the body); found
LEFT_SHOULDER, RIGHT_SHOULDER = BODY_POINTS.index("LEFT_SHOULDER"), BODY_POINTS.index("RIGHT_SHOULDER")
HAND_OFFSETS = {LEFT_HAND: len(BODY_POINTS), RIGHT_HAND: len(BODY_POINTS) + len(HAND_POINTS)}
VISIBLE = 0.5  # a body point's confidence is MediaPipe's visibility: below its own cut-off (0.5) it is hidden or out of view


def keypoints_path(clips_dir: Path, key: str) -> Path:
    return clips_dir / f"{key}{SUFFIX}"


def holistic_pose(points: np.ndarray, confidence: np.ndarray, fps: float, width: int, height: int,
                  components: tuple[str, ...] = MODEL_COMPONENTS):
    """A pose-format `Pose` in Holistic's layout from (T, P, 3) pixel coordinates (x, y, z) and (T, P) confidence,
    the points of `components` in order. A point with confidence 0 is masked (pose-format's "not found")."""
    from pose_format import Pose
    from pose_format.numpy.pose_body import NumPyPoseBody
    from pose_format.pose_header import PoseHeader, PoseHeaderComponent, PoseHeaderDimensions

    expected = sum(len(HOLISTIC[c]) for c in components)
    if points.shape[1:] != (expected, 3) or confidence.shape != points.shape[:2]:
        raise ValueError(f"points {points.shape} / confidence {confidence.shape} do not fit {components} ({expected} points)")
    header_components = [PoseHeaderComponent(name, list(HOLISTIC[name]), [], [(255, 0, 0)], "XYZC") for name in components]
    header = PoseHeader(0.2, PoseHeaderDimensions(int(width), int(height), 1), header_components)
    mask = np.repeat((confidence <= 0)[:, None, :, None], 3, axis=3)
    data = np.ma.masked_array(points[:, None].astype(np.float32), mask=mask)
    return Pose(header, NumPyPoseBody(float(fps), data, confidence[:, None].astype(np.float32)))


def write_pose(path: Path, pose) -> None:  # noqa: ANN001 -- a pose_format.Pose
    """Atomically write a pose-format file (temp file, fsync, rename): a crash leaves the old file or none."""
    buffer = io.BytesIO()
    pose.write(buffer)
    atomic_write(path, lambda handle: handle.write(buffer.getvalue()))


def read_pose(path: Path):  # noqa: ANN201 -- a pose_format.Pose
    """Read a `.pose` file; a missing, empty, truncated or foreign file raises DataError with the reason."""
    from pose_format import Pose

    if not path.is_file():
        raise DataError(f"{path}: pose file not found")
    raw = path.read_bytes()
    if not raw:
        raise DataError(f"{path}: empty pose file (0 bytes)")
    try:
        pose = Pose.read(raw)
        frames = pose.body.data.shape[0]
    except Exception as exc:  # noqa: BLE001 -- pose-format raises struct/index/value errors on damaged files
        raise DataError(f"{path}: not a readable pose-format file ({type(exc).__name__}: {exc}); truncated or corrupt?") from None
    if frames == 0:
        raise DataError(f"{path}: the pose file holds no frames")
    return pose


def model_points(pose, source: Path | str = "pose") -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """(x, y) in pixels (T, 75, 2) float32 and found (T, 75) bool of `MODEL_COMPONENTS`, first person only.

    Holistic's body model reports all 33 points whenever it finds a body, each with a visibility: a point below
    `VISIBLE` (a wrist below the frame's edge, a hip under the table) is not found. A hand point is found when the
    hand model reported its hand (confidence 1)."""
    names = [c.name for c in pose.header.components]
    missing = [c for c in MODEL_COMPONENTS if c not in names]
    if missing:
        raise DataError(f"{source}: the pose file has no {', '.join(missing)} (it has {', '.join(names)}); isltk reads "
                        "MediaPipe Holistic's layout (iSign's poses, pose-format's video_to_pose)")
    picked = pose.get_components(list(MODEL_COMPONENTS))
    data = picked.body.data[:, 0]  # (T, P, dims) masked
    xy = np.ma.getdata(data)[..., :2].astype(np.float32)
    mask = np.ma.getmaskarray(data)[..., :2].any(-1)
    confidence = np.asarray(picked.body.confidence[:, 0])
    seen = confidence > 0
    seen[:, : len(BODY_POINTS)] = confidence[:, : len(BODY_POINTS)] >= VISIBLE
    found = (~mask) & seen & np.isfinite(xy).all(-1)
    return np.where(found[..., None], xy, 0).astype(np.float32), found


def select_frames(pose, indices: np.ndarray):  # noqa: ANN001, ANN201
    """The pose at these frame indices (repeats allowed), fps unchanged."""
    return pose.__class__(pose.header, pose.body.select_frames([int(i) for i in indices]))


def sampled(pose, sampling: FrameSampling, frames: int | None = None):  # noqa: ANN001, ANN201
    """A pose file's frames at the times `prepare` stores: `frames` of them (those of the clip's video), else as
    many as `sampling` keeps of a clip this long, each at the centre of an equal time slice (as for video)."""
    count, fps = int(pose.body.data.shape[0]), float(pose.body.fps) or IMAGE_FOLDER_FPS
    wanted = frames if frames is not None else sampling.frames_for(count / fps, count)
    return select_frames(pose, pick_frames(np.arange(count) / fps, count / fps, wanted))


def hand_points(hand: str) -> slice:
    """Where a hand's 21 points sit among the model's 75 (body, left hand, right hand)."""
    return slice(HAND_OFFSETS[hand], HAND_OFFSETS[hand] + len(HAND_POINTS))


def shoulder_width(xy: np.ndarray, found: np.ndarray) -> float:
    """(T, 75, 2) pixels + (T, 75) found -> the clip's median shoulder width in pixels over the frames where both
    shoulders were found (a body's size, whatever its hands do); 0.0 when they never were."""
    both = found[:, LEFT_SHOULDER] & found[:, RIGHT_SHOULDER]
    return float(np.median(np.linalg.norm(xy[both, LEFT_SHOULDER] - xy[both, RIGHT_SHOULDER], axis=-1))) if both.any() else 0.0


def normalize(xy: np.ndarray, found: np.ndarray) -> np.ndarray:
    """(T, 75, 2) pixels + (T, 75) found -> (T, 75, CHANNELS) float32 model input; see the module docstring.

    A clip whose shoulders are never found keeps image-relative coordinates scaled by its frame diagonal's
    stand-in (the spread of its points), so it still trains; its points stay marked as found or not."""
    both = found[:, LEFT_SHOULDER] & found[:, RIGHT_SHOULDER]
    if both.any():
        left, right = xy[both, LEFT_SHOULDER], xy[both, RIGHT_SHOULDER]
        centre = np.median((left + right) / 2, axis=0)
        unit = shoulder_width(xy, found)
    else:
        seen = xy[found]
        centre = seen.mean(0) if len(seen) else np.zeros(2, np.float32)
        unit = float(seen.std(0).mean()) if len(seen) > 1 else 1.0
    unit = unit if unit > 1e-6 else 1.0
    out = np.zeros((*xy.shape[:2], CHANNELS), np.float32)
    out[..., :2] = (xy - centre) / unit
    for offset in HAND_OFFSETS.values():
        hand = slice(offset, offset + len(HAND_POINTS))
        wrist = xy[:, offset : offset + 1]
        out[:, hand, 2:4] = (xy[:, hand] - wrist) / unit
        out[:, hand, 2:4] *= found[:, offset : offset + 1, None]  # no wrist, no hand-relative offsets
    out[..., :4] *= found[..., None]
    out[..., 4] = found
    return out


def clip_keypoints(path: Path, indices: np.ndarray | None = None) -> np.ndarray:
    """A stored clip's model input (T, 75, CHANNELS), normalised over the whole clip, at `indices` (all when None)."""
    xy, found = model_points(read_pose(path), path)
    features = normalize(xy, found)
    return features if indices is None else features[np.asarray(indices)]


def hands_found(found: np.ndarray) -> float:
    """The share of frames where at least one hand was found (prepare's summary reports it)."""
    hands = np.concatenate([found[:, o : o + len(HAND_POINTS)] for o in HAND_OFFSETS.values()], axis=1)
    return float(hands.any(1).mean()) if len(found) else 0.0
