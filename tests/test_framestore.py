"""Stored clips (isltk/data/framestore.py): raw npy memory-mapped, or JPEG frames in one archive."""

from pathlib import Path

import numpy as np
import pytest

from isltk.data.framestore import FrameFile, frame_path, write_frames


def gradient_clip(frames: int = 5, size: int = 32) -> np.ndarray:
    """Smooth images (JPEG keeps them close) that differ per frame."""
    y, x = np.mgrid[0:size, 0:size]
    return np.stack([np.stack([(x * 8 + t * 20) % 256, (y * 8) % 256, np.full_like(x, 40 * t)], -1)
                     for t in range(frames)]).astype(np.uint8)


@pytest.mark.parametrize("fmt", ["npy", "jpeg"])
def test_a_clip_reads_back_whole_or_any_subset_of_frames(tmp_path: Path, fmt: str) -> None:
    frames = gradient_clip()
    path = frame_path(tmp_path, "clip", fmt)
    write_frames(path, frames, fmt, quality=95)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left beside it
    stored = FrameFile(path)
    assert len(stored) == 5 and stored.shape == frames.shape
    whole = stored.read()
    tolerance = 0 if fmt == "npy" else 6  # mean absolute difference in grey levels
    assert whole.dtype == np.uint8 and np.abs(whole.astype(int) - frames).mean() <= tolerance
    picked = stored.read(np.array([4, 0, 0, 2]))  # repeats, out of order (time-stretch sampling)
    np.testing.assert_array_equal(picked, whole[[4, 0, 0, 2]])
    picked[:] = 0  # a new writable array: the stored file is untouched
    np.testing.assert_array_equal(FrameFile(path).read(), whole)


def test_jpeg_is_several_times_smaller_than_raw(tmp_path: Path) -> None:
    frames = gradient_clip(frames=8, size=96)
    write_frames(raw := frame_path(tmp_path, "a", "npy"), frames, "npy")
    write_frames(jpeg := frame_path(tmp_path, "a", "jpeg"), frames, "jpeg", quality=90)
    assert jpeg.stat().st_size * 3 < raw.stat().st_size
