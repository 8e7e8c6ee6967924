"""Decode a sign video (or a folder of frame images) into a fixed number of resized RGB frames.

Design (measured in benchmarks/bench_prepare.py and explained in the README):
- Frames are picked uniformly in *time*, not in frame index, so variable-frame-rate phone videos are
  sampled evenly: target times are the centres of `num_frames` equal slices of the clip, and each
  target takes the first frame shown at or after it.
- One decoding pass: every frame is `grab()`bed (decoded, no colour conversion) and only the picked
  frames are `retrieve()`d, converted and resized. The pick is planned from the container header;
  when the real timestamps disagree with the header, a second pass fetches the exact frames, so
  the result never depends on header accuracy.
- OpenCV's FFmpeg backend applies rotation metadata (CAP_PROP_ORIENTATION_AUTO) and ignores audio.
- Codecs OpenCV's wheel cannot decode (AV1: its FFmpeg has no software AV1 decoder) fall back per file
  to PyAV, whose wheels bundle FFmpeg with dav1d; a clip neither can decode is rejected with its codec
  name. OpenCV stays first: it is the faster of the two on H.264 (benchmarks/bench_decode.py).
- Resizing keeps the whole signing space: `letterbox` scales the longer side to the target and pads
  with black (hands at the frame edge survive); `crop` fills the square and cuts the long side.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from isltk.config import DataConfig
from isltk.errors import DataError

IMAGE_FOLDER_FPS = 25.0


class VideoDecodeError(DataError):
    """A clip that cannot be turned into frames; the message says why."""


@dataclass(frozen=True)
class FrameSampling:
    """How many frames a clip keeps: a fixed count, or `fps` frames per second of video.

    Time-based: a clip of d seconds keeps round(d x fps) frames, never more than it has (no
    duplicated frames), at least `min_frames` (a very short clip is stretched) and at most
    `max_frames` (a long clip is sampled evenly down to it).
    """

    count: int | None = None
    fps: float | None = None
    min_frames: int = 1
    max_frames: int = 4096

    def frames_for(self, duration_s: float, source_frames: int) -> int:
        if self.fps is None:
            assert self.count is not None
            return self.count
        wanted = min(round(duration_s * self.fps), source_frames)
        return int(min(max(wanted, self.min_frames), self.max_frames))

    @classmethod
    def from_data(cls, data: DataConfig) -> FrameSampling:
        if data.time_based:
            return cls(None, data.sample_fps, data.min_frames, data.max_frames)
        return cls(data.stored_frames)


def as_sampling(frames: int | FrameSampling) -> FrameSampling:
    return frames if isinstance(frames, FrameSampling) else FrameSampling(frames)


@dataclass
class DecodedClip:
    frames: np.ndarray  # (T, S, S, 3) uint8 RGB
    source_frames: int
    fps: float
    duration_s: float
    width: int
    height: int
    raw: list[np.ndarray] | None = None  # the stored frames before resizing, RGB at the decoded size (keep_raw only)


def _shrink(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """Anti-aliased resize; halving steps first hit OpenCV's fast integer INTER_AREA path (~4x faster)."""
    while frame.shape[1] >= 2 * width and frame.shape[0] >= 2 * height:
        frame = cv2.resize(frame, (frame.shape[1] // 2, frame.shape[0] // 2), interpolation=cv2.INTER_AREA)
    grows = width > frame.shape[1] or height > frame.shape[0]
    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_LINEAR if grows else cv2.INTER_AREA)


def fit_frame(frame: np.ndarray, size: int, mode: str) -> np.ndarray:
    """BGR frame of any shape -> RGB (size, size, 3) uint8, letterboxed or centre-cropped."""
    h, w = frame.shape[:2]
    scale = size / max(h, w) if mode == "letterbox" else size / min(h, w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    resized = cv2.cvtColor(_shrink(frame, new_w, new_h), cv2.COLOR_BGR2RGB)
    if mode == "letterbox":
        out = np.zeros((size, size, 3), dtype=np.uint8)
        top, left = (size - new_h) // 2, (size - new_w) // 2
        out[top : top + new_h, left : left + new_w] = resized
        return out
    top, left = (new_h - size) // 2, (new_w - size) // 2
    return np.ascontiguousarray(resized[top : top + size, left : left + size])


def pick_frames(timestamps_s: np.ndarray, duration_s: float, num_frames: int) -> np.ndarray:
    """Indices of the frames shown at the centres of `num_frames` equal time slices."""
    targets = (np.arange(num_frames) + 0.5) * (duration_s / num_frames)
    picked = np.searchsorted(timestamps_s, targets - 1e-6, side="left")
    return np.minimum(picked, len(timestamps_s) - 1)


def _clip_timing(pts_ms: list[float], fps: float) -> tuple[np.ndarray, float]:
    """Frame start times (s, from 0) and clip duration; falls back to index/fps if pts are unusable."""
    count = len(pts_ms)
    stamps = np.asarray(pts_ms, dtype=np.float64) / 1000.0
    usable = count > 1 and np.all(np.diff(stamps) > 0)
    if not usable:
        rate = fps if fps > 0 else IMAGE_FOLDER_FPS
        stamps = np.arange(count) / rate
    stamps = stamps - stamps[0]
    step = float(stamps[-1] - stamps[-2]) if count > 1 else 1.0 / (fps if fps > 0 else IMAGE_FOLDER_FPS)
    return stamps, float(stamps[-1] + step)


def _open(path: Path, threads: int) -> cv2.VideoCapture:
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, threads])
    if not capture.isOpened():
        capture.release()
        raise VideoDecodeError("OpenCV/FFmpeg cannot open it as a video (not a video file, or an unsupported codec)")
    return capture


@dataclass
class _Scan:
    kept: dict[int, np.ndarray]
    pts_ms: list[float]
    header_count: int
    fps: float
    raw_size: tuple[int, int]  # (width, height) as displayed, after rotation
    raw: dict[int, np.ndarray] | None = None  # the kept frames before resizing (BGR), when asked for

    def keep(self, index: int, frame: np.ndarray, size: int, mode: str) -> None:
        self.raw_size = (frame.shape[1], frame.shape[0])
        self.kept[index] = fit_frame(frame, size, mode)
        if self.raw is not None:
            self.raw[index] = frame


def _scan(path: Path, wanted: set[int] | None, sampling: FrameSampling, size: int, mode: str, threads: int,
          keep_raw: bool = False) -> _Scan:
    """Decode every frame once; convert only the wanted ones (planned from the header when None)."""
    capture = _open(path, threads)
    header_count, fps = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), float(capture.get(cv2.CAP_PROP_FPS))
    if wanted is None:
        wanted = set()
        if header_count > 0 and fps > 0:
            estimate, duration = np.arange(header_count) / fps, header_count / fps
            wanted = set(pick_frames(estimate, duration, sampling.frames_for(duration, header_count)).tolist())
    scan = _Scan({}, [], header_count, fps, (0, 0), {} if keep_raw else None)
    try:
        while capture.grab():
            index = len(scan.pts_ms)
            scan.pts_ms.append(capture.get(cv2.CAP_PROP_POS_MSEC))
            if index in wanted:
                ok, frame = capture.retrieve()
                if ok and frame is not None and frame.size:
                    scan.keep(index, frame, size, mode)
    finally:
        capture.release()
    return scan


def _scan_pyav(path: Path, wanted: set[int] | None, sampling: FrameSampling, size: int, mode: str, threads: int,
               keep_raw: bool = False) -> _Scan:
    """The same single pass as `_scan`, with PyAV's FFmpeg (dav1d for AV1) instead of OpenCV's."""
    import av

    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as exc:
        raise VideoDecodeError(f"PyAV cannot open it as a video ({exc})") from None
    with container:
        if not container.streams.video:
            raise VideoDecodeError("no video stream (audio-only or not a video file)")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        header_count = int(stream.frames or 0)
        fps = float(stream.average_rate or 0)
        if wanted is None:
            wanted = set()
            if header_count > 0 and fps > 0:
                duration = header_count / fps
                wanted = set(pick_frames(np.arange(header_count) / fps, duration, sampling.frames_for(duration, header_count)).tolist())
        scan = _Scan({}, [], header_count, fps, (0, 0), {} if keep_raw else None)
        try:
            for frame in container.decode(stream):
                index = len(scan.pts_ms)
                scan.pts_ms.append(float(frame.time) * 1000.0 if frame.time is not None else float("nan"))
                if index in wanted:
                    scan.keep(index, frame.to_ndarray(format="bgr24"), size, mode)
        except av.FFmpegError:
            pass  # a corrupt tail: what decoded so far is judged below, as with OpenCV
    return scan


def video_codec(path: Path) -> str | None:
    """The first video stream's codec name as FFmpeg reports it (e.g. 'av1', 'vp9'), or None when unreadable."""
    try:
        import av

        with av.open(str(path)) as container:
            return container.streams.video[0].codec_context.codec.canonical_name if container.streams.video else None
    except Exception:  # noqa: BLE001 -- only used to word an error message
        return None


def _scan_any(path: Path, wanted: set[int] | None, sampling: FrameSampling, size: int, mode: str, threads: int,
              backend: str, keep_raw: bool = False) -> tuple[_Scan, str]:
    """OpenCV first; PyAV when OpenCV cannot open the file or decodes no frame of it (e.g. AV1)."""
    if backend == "opencv":
        try:
            scan = _scan(path, wanted, sampling, size, mode, threads, keep_raw)
            if scan.pts_ms:
                return scan, "opencv"
        except VideoDecodeError:
            pass
    try:
        return _scan_pyav(path, wanted, sampling, size, mode, threads, keep_raw), "pyav"
    except VideoDecodeError:
        codec = video_codec(path)
        if codec:
            raise VideoDecodeError(f"no decoder here could decode its video stream (codec {codec}); re-encode it, "
                                   "e.g. `ffmpeg -i in -c:v libx264 out.mp4`") from None
        raise VideoDecodeError("cannot open it as a video (not a video file, or no video stream)") from None


def decode_video(
    path: Path, frames: int | FrameSampling, size: int, mode: str = "letterbox", min_decoded_fraction: float = 0.9,
    threads: int = 0, keep_raw: bool = False,
) -> DecodedClip:
    """Decode `path` into a fixed count of frames or by time; raises VideoDecodeError with a reason for bad files.
    `keep_raw` also returns the stored frames before resizing (a keypoint detector reads them at full size)."""
    sampling = as_sampling(frames)
    if path.is_dir():
        raise VideoDecodeError("a folder, not a video file")
    if not path.is_file():
        raise VideoDecodeError("file not found")
    if path.stat().st_size == 0:
        raise VideoDecodeError("empty file (0 bytes)")
    scan, backend = _scan_any(path, None, sampling, size, mode, threads, "opencv", keep_raw)
    decoded, header_count = len(scan.pts_ms), scan.header_count
    if not decoded:
        codec = video_codec(path)
        detail = f"codec {codec}: " if codec else ""
        raise VideoDecodeError(f"{detail}no video frames could be decoded (empty, audio-only or corrupt stream)")
    if decoded == 1:  # a still picture (a JPEG renamed .mp4, a 1-frame export) would be stored as copies of one frame
        raise VideoDecodeError("a single frame: a still image, not a video of signing; re-export the clip")
    if header_count > 0 and decoded < min_decoded_fraction * header_count:
        raise VideoDecodeError(
            f"decoded only {decoded} of the {header_count} frames its header promises (truncated or corrupt); "
            "re-encode it or lower data.min_decoded_fraction"
        )
    stamps, duration = _clip_timing(scan.pts_ms, scan.fps)
    picked = pick_frames(stamps, duration, sampling.frames_for(duration, decoded)).tolist()
    missing = set(picked) - scan.kept.keys()
    if missing:  # the header misled the plan (VFR, wrong count): fetch the exact frames
        rescan = _scan_pyav(path, missing, sampling, size, mode, threads, keep_raw) if backend == "pyav" else \
            _scan(path, missing, sampling, size, mode, threads, keep_raw)
        scan.kept.update(rescan.kept)
        if scan.raw is not None and rescan.raw is not None:
            scan.raw.update(rescan.raw)
        scan.raw_size = rescan.raw_size if scan.raw_size == (0, 0) else scan.raw_size
        if set(picked) - scan.kept.keys():
            raise VideoDecodeError("frames could not be re-read consistently (unstable decode)")
    frames = np.stack([scan.kept[i] for i in picked])
    raw = [cv2.cvtColor(scan.raw[i], cv2.COLOR_BGR2RGB) for i in picked] if scan.raw is not None else None
    return DecodedClip(frames, decoded, scan.fps, duration, *scan.raw_size, raw)


def decode_image_folder(
    frame_paths: list[Path], frames: int | FrameSampling, size: int, mode: str = "letterbox", fps: float = IMAGE_FOLDER_FPS,
    keep_raw: bool = False,
) -> DecodedClip:
    """A clip stored as numbered images (PHOENIX-2014T): read only the picked frames."""
    if not frame_paths:
        raise VideoDecodeError("no frame images found")
    stamps, duration = np.arange(len(frame_paths)) / fps, len(frame_paths) / fps
    picked = pick_frames(stamps, duration, as_sampling(frames).frames_for(duration, len(frame_paths)))
    scan = _Scan({}, [], len(frame_paths), fps, (0, 0), {} if keep_raw else None)
    for index in sorted(set(picked.tolist())):
        image = cv2.imread(str(frame_paths[index]), cv2.IMREAD_COLOR)
        if image is None:
            raise VideoDecodeError(f"cannot read frame image {frame_paths[index].name}")
        scan.keep(index, image, size, mode)
    frames = np.stack([scan.kept[i] for i in picked.tolist()])
    raw = [cv2.cvtColor(scan.raw[i], cv2.COLOR_BGR2RGB) for i in picked.tolist()] if scan.raw is not None else None
    return DecodedClip(frames, len(frame_paths), fps, len(frame_paths) / fps, *scan.raw_size, raw)
