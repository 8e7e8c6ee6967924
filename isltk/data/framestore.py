"""How a clip's frames are stored in the prepared cache: raw uint8 or JPEG-compressed, one file per clip.

- `npy` (raw): `<key>.npy`, uint8 (T, S, S, 3), memory-mapped; the fastest to read, 147 KiB per 224 px frame.
- `jpeg`: `<key>.jpgs.npz`, every frame a JPEG (`data.jpeg_quality`) concatenated in one uncompressed npz
  with their byte offsets; the loader decodes only the frames it picks, in its worker processes. A
  100k-clip corpus at 12.5 frames/s then fits on an ordinary disk (measured by benchmarks/bench_cache.py).

Both are read through `FrameFile`, so the loader, the feature cache and the reuse check do not care which.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from isltk.fsutil import atomic_write

SUFFIX = {"npy": ".npy", "jpeg": ".jpgs.npz"}


def frame_path(clips_dir: Path, key: str, fmt: str) -> Path:
    return clips_dir / f"{key}{SUFFIX[fmt]}"


def encode_jpeg(frames: np.ndarray, quality: int) -> tuple[np.ndarray, np.ndarray]:
    """RGB uint8 (T, H, W, 3) -> (concatenated JPEG bytes, offsets with T + 1 entries)."""
    blobs = []
    for frame in frames:
        ok, blob = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise ValueError("JPEG encoding failed")
        blobs.append(blob.ravel())
    offsets = np.zeros(len(blobs) + 1, np.int64)
    offsets[1:] = np.cumsum([len(b) for b in blobs])
    return (np.concatenate(blobs) if blobs else np.zeros(0, np.uint8)), offsets


def write_frames(path: Path, frames: np.ndarray, fmt: str, quality: int = 90) -> None:
    """Atomically write one clip's frames in `fmt` (temp file, fsync, rename)."""
    if fmt == "npy":
        atomic_write(path, lambda handle: np.save(handle, frames, allow_pickle=False))
        return
    data, offsets = encode_jpeg(frames, quality)
    shape = np.array(frames.shape, np.int64)
    atomic_write(path, lambda handle: np.savez(handle, data=data, offsets=offsets, shape=shape))


class FrameFile:
    """One stored clip: its length and shape without decoding, and any subset of its frames as uint8 RGB."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.jpeg = path.name.endswith(SUFFIX["jpeg"])
        if self.jpeg:
            with np.load(path, allow_pickle=False) as archive:
                self._data, self._offsets = archive["data"], archive["offsets"]
                self.shape = tuple(int(x) for x in archive["shape"])
        else:
            self._array = np.load(path, mmap_mode="r", allow_pickle=False)
            self.shape = tuple(self._array.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def read(self, indices: np.ndarray | None = None) -> np.ndarray:
        """The frames at `indices` (all when None), as a new writable array."""
        picked = np.arange(len(self)) if indices is None else np.asarray(indices)
        if not self.jpeg:
            return np.array(self._array[picked])
        out = np.empty((len(picked), *self.shape[1:]), np.uint8)
        decoded: dict[int, np.ndarray] = {}
        for row, index in enumerate(picked.tolist()):
            if index not in decoded:
                blob = self._data[self._offsets[index] : self._offsets[index + 1]]
                decoded[index] = cv2.cvtColor(cv2.imdecode(blob, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
            out[row] = decoded[index]
        return out
