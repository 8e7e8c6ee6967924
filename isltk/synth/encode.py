"""Write frames to real video files: the synthetic corpus, the tests and the benchmarks use this.

OpenCV's writer (MPEG-4 part 2 / MJPEG) is always available. H.264, HEVC, rotation metadata and
variable frame rate need an ffmpeg binary: imageio-ffmpeg's bundled one (dev extra) or ffmpeg on PATH.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from isltk.errors import IsltkError

FFMPEG_CODECS = {"h264": "libx264", "hevc": "libx265", "mpeg4": "mpeg4", "mjpeg": "mjpeg"}


def ffmpeg_executable() -> str | None:
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return shutil.which("ffmpeg")


def write_video_opencv(path: Path, frames: Sequence[np.ndarray], fps: float, fourcc: str = "mp4v") -> None:
    """RGB uint8 frames -> a video written by OpenCV's FFmpeg writer (`mp4v` or `MJPG`)."""
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    if not writer.isOpened():
        raise IsltkError(f"{path}: OpenCV cannot write {fourcc} video here")
    try:
        for frame in frames:
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()


def write_video_ffmpeg(
    path: Path,
    frames: Sequence[np.ndarray],
    fps: float,
    codec: str = "h264",
    rotate_degrees: int = 0,
    frame_durations_s: Sequence[float] | None = None,
    extra_args: Sequence[str] = (),
) -> None:
    """RGB uint8 frames -> `codec` video via ffmpeg; optional display rotation and per-frame durations (VFR)."""
    exe = ffmpeg_executable()
    if exe is None:
        raise IsltkError("no ffmpeg binary found: pip install imageio-ffmpeg (dev extra) or install ffmpeg")
    height, width = frames[0].shape[:2]
    raw = np.ascontiguousarray(np.stack(frames)).tobytes()
    cmd = [exe, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}"]
    if frame_durations_s is not None:
        stamps = np.concatenate([[0.0], np.cumsum(frame_durations_s)[:-1]])
        cmd += ["-r", "1000", "-i", "-", "-vf", "setpts=" + _pts_expression(stamps), "-fps_mode", "vfr"]
    else:
        cmd += ["-r", str(fps), "-i", "-"]
    encoder = FFMPEG_CODECS.get(codec, codec)
    cmd += ["-c:v", encoder, "-pix_fmt", "yuvj420p" if encoder == "mjpeg" else "yuv420p"]
    if encoder == "libx265":
        cmd += ["-x265-params", "log-level=error"]
    cmd += list(extra_args)
    cmd += [str(path)]
    if rotate_degrees:
        cmd = _with_rotation(cmd, rotate_degrees)
    result = subprocess.run(cmd, input=raw, capture_output=True)
    if result.returncode:
        raise IsltkError(f"{path}: ffmpeg failed: {result.stderr.decode(errors='replace').strip()[-500:]}")


def _pts_expression(stamps_s: np.ndarray) -> str:
    """An ffmpeg setpts expression mapping frame N to its timestamp in ms (the -r 1000 input ticks in ms)."""
    terms = "+".join(f"eq(N\\,{i})*{round(t * 1000)}" for i, t in enumerate(stamps_s))
    return f"{terms}"


def _with_rotation(cmd: list[str], degrees: int) -> list[str]:
    """Insert `-display_rotation` before the input so the stream carries a display matrix (phone videos)."""
    index = cmd.index("-i")
    return cmd[:index] + ["-display_rotation", str(degrees)] + cmd[index:]


def write_video_pyav(path: Path, frames: Sequence[np.ndarray], fps: float, codec: str = "libsvtav1") -> None:
    """RGB uint8 frames -> a video encoded by PyAV's bundled FFmpeg: AV1 (`libsvtav1`), VP9 (`libvpx-vp9`) and
    others that OpenCV's wheel and the ffmpeg binary may lack. Container from the suffix (.mp4, .webm, .mkv);
    MP4 index first (faststart), as web video is delivered."""
    import av

    height, width = frames[0].shape[:2]
    options = {"movflags": "faststart"} if path.suffix.lower() in (".mp4", ".m4v", ".mov") else {}
    with av.open(str(path), "w", options=options) as container:
        stream = container.add_stream(codec, rate=round(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
