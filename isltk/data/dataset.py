"""Serve training batches from the prepared cache: memory-mapped uint8 frames, augmentation on the fly.

Augmentation randomness comes from a generator seeded by (seed, epoch, clip index), never from
global or per-worker state, so a batch is the same whatever the worker count and after a resume.
Frames stay uint8 until they reach the device (4x less host->device traffic); the model
normalises them there.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from isltk.data.cache import (
    clip_frames_path,
    clip_hands_path,
    clip_keypoints_path,
    inputs,
    load_manifest,
    storage_format,
)
from isltk.data.framestore import FrameFile
from isltk.data.hands import crop_found
from isltk.data.keypoints import clip_keypoints
from isltk.data.supervision import SignLabels
from isltk.data.vocab import TextVocabulary


@dataclass(frozen=True)
class Augment:
    frames: int | None  # frames the model sees; None: every stored frame (time-based caches)
    temporal_jitter: bool = False  # fixed count: a random frame per segment; time-based: tempo change
    spatial_jitter_px: int = 0
    color_jitter: float = 0.0  # per clip: each RGB channel scaled by U(1 - j, 1 + j) (other skin, light, camera)
    scale_jitter: float = 0.0  # per clip: zoomed by U(1 - s, 1 + s) about the centre (signer size, camera distance)

    @property
    def random(self) -> bool:
        return bool(self.temporal_jitter or self.spatial_jitter_px or self.color_jitter
                    or self.scale_jitter)


def frame_indices(stored: int, wanted: int, rng: np.random.Generator | None) -> np.ndarray:
    """`wanted` of `stored` frames: segment centres, or a random frame per segment when jittering."""
    edges = np.linspace(0, stored, wanted + 1)
    if rng is None:
        return np.minimum(((edges[:-1] + edges[1:]) / 2).astype(int), stored - 1)
    low, high = np.floor(edges[:-1]).astype(int), np.maximum(np.ceil(edges[1:]).astype(int), np.floor(edges[:-1]).astype(int) + 1)
    return np.minimum(rng.integers(low, high), stored - 1)


def zoom_frames(frames: np.ndarray, factor: float, dy: int, dx: int) -> np.ndarray:
    """Zoom every frame by `factor` about its centre and shift it by (dy, dx) pixels; edges are replicated
    (a signer nearer or farther from the camera, not a black border the model could learn)."""
    height, width = frames.shape[1:3]
    matrix = np.float32([[factor, 0, (1 - factor) * width / 2 + dx], [0, factor, (1 - factor) * height / 2 + dy]])
    return np.stack([cv2.warpAffine(frame, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
                     for frame in frames])


def shift_frames(frames: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Translate every frame by (dy, dx) pixels, filling with black (a small camera shift)."""
    out = np.zeros_like(frames)
    h, w = frames.shape[1:3]
    out[:, max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = frames[:, max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)]
    return out


TEMPO_RANGE = (0.8, 1.25)  # time-based temporal jitter: the clip signed up to 25% faster or slower


def clip_lengths(records: list[dict]) -> list[int]:
    """Stored frames per clip (manifest field `frames`)."""
    return [int(r["frames"]) for r in records]


class ClipItem(NamedTuple):
    """One clip as the loader yields it."""

    frames: torch.Tensor | None  # uint8 (T, H, W, 3), or cached features (T, D); None in a keypoints-only cache
    tokens: torch.Tensor  # target ids with BOS/EOS
    glosses: torch.Tensor  # sign label ids: glosses or pseudo-glosses (isltk.data.supervision)
    keypoints: torch.Tensor | None = None  # float (T, P, C) (isltk.data.keypoints); None without keypoints
    hands: torch.Tensor | None = None  # uint8 (T, 2, S, S, 3) crops, left then right hand (isltk.data.hands); None without
    hands_found: torch.Tensor | None = None  # bool (T, 2): the hand was found (its crop is real)


class PreparedClips(Dataset):
    """One split of a prepared cache; items are `ClipItem`s."""

    def __init__(self, prepared_dir: Path, split: str, vocab: TextVocabulary, augment: Augment, max_length: int, seed: int = 0,
                 labels: SignLabels | None = None, features_dir: Path | None = None) -> None:
        self.dir = prepared_dir
        self.features_dir = features_dir  # cached per-frame features (frozen backbone) instead of frames
        self.records = load_manifest(prepared_dir, split)
        self.vocab, self.augment, self.max_length, self.seed = vocab, augment, max_length, seed
        # label ids once per clip: pseudo-glosses lemmatise the sentence
        self.label_ids = [labels.ids(r) for r in self.records] if labels is not None else [[] for _ in self.records]
        self.cache_format = storage_format(prepared_dir)
        self.pixels, keypoints, self.hand_crop_px = inputs(prepared_dir)
        self.keypoints = keypoints != "none"
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.records)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def picked_frames(self, index: int, rng: np.random.Generator | None) -> np.ndarray | None:
        """The stored frames this item shows (None: all of them): a fixed count, or a tempo change when jittering."""
        stored = int(self.records[index]["frames"])
        jitter = rng if self.augment.temporal_jitter else None
        if self.augment.frames is not None:
            return frame_indices(stored, self.augment.frames, jitter)
        if jitter is not None:
            return frame_indices(stored, max(1, round(stored / jitter.uniform(*TEMPO_RANGE))), None)
        return None

    def frames(self, index: int, rng: np.random.Generator | None, picked_indices: np.ndarray | None) -> np.ndarray:
        key = self.records[index]["key"]
        stored = FrameFile(self.features_dir / f"{key}.npy" if self.features_dir else clip_frames_path(self.dir, key, self.cache_format))
        picked = stored.read(picked_indices)
        if self.features_dir is not None:  # (T, D) features: nothing spatial left to augment
            return np.ascontiguousarray(picked)
        if rng is not None and (self.augment.spatial_jitter_px or self.augment.scale_jitter):
            j, s = self.augment.spatial_jitter_px, self.augment.scale_jitter
            dy, dx = int(rng.integers(-j, j + 1)), int(rng.integers(-j, j + 1))
            picked = zoom_frames(picked, rng.uniform(1 - s, 1 + s), dy, dx) if s else shift_frames(picked, dy, dx)
        if rng is not None and self.augment.color_jitter:
            gains = rng.uniform(1 - self.augment.color_jitter, 1 + self.augment.color_jitter, 3).astype(np.float32)
            picked = np.clip(picked * gains, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(picked)

    def __getitem__(self, index: int) -> ClipItem:
        """Clip `index`, augmented by a generator seeded by (seed, epoch, index): the same whatever the worker."""
        seed = [self.seed, self.epoch, index]
        rng = np.random.default_rng(seed) if self.augment.random else None
        tokens = self.vocab.target_ids(self.records[index], self.max_length)
        glosses = torch.tensor(self.label_ids[index], dtype=torch.long)
        picked = self.picked_frames(index, rng)
        frames = torch.from_numpy(self.frames(index, rng, picked)) if self.pixels or self.features_dir else None
        points = crops = found = None
        key = self.records[index]["key"]
        if self.keypoints:  # the same frames as the pixels; no spatial augmentation (normalised to the body already)
            points = clip_keypoints(clip_keypoints_path(self.dir, key), picked)
        if self.hand_crop_px:
            crops, found = self.hand_crops(index, rng, picked, points)
        return ClipItem(frames, torch.tensor(tokens, dtype=torch.long), glosses,
                        torch.from_numpy(points) if points is not None else None, crops, found)

    def hand_crops(self, index: int, rng: np.random.Generator | None, picked: np.ndarray | None,
                   points: np.ndarray | None) -> tuple[torch.Tensor, torch.Tensor]:
        """The picked frames' hand crops (T, 2, S, S, 3), colour-jittered like frames (gains of their own), and
        whether each hand's crop was placed (isltk.data.hands.crop_found: the hand's points or the body's)."""
        stored = FrameFile(clip_hands_path(self.dir, self.records[index]["key"]))
        frames = np.arange(len(stored) // 2) if picked is None else np.asarray(picked)
        crops = stored.read(np.stack([2 * frames, 2 * frames + 1], axis=1).ravel())
        if rng is not None and self.augment.color_jitter:
            gains = rng.uniform(1 - self.augment.color_jitter, 1 + self.augment.color_jitter, 3).astype(np.float32)
            crops = np.clip(crops * gains, 0, 255).astype(np.uint8)
        assert points is not None  # crops need keypoints (config rule)
        found = crop_found(points[..., -1] > 0)
        return torch.from_numpy(crops.reshape(len(frames), 2, *crops.shape[1:])), torch.from_numpy(found)


def _padded(tensors: list[torch.Tensor], time: int) -> torch.Tensor:
    out = torch.zeros(len(tensors), time, *tensors[0].shape[1:], dtype=tensors[0].dtype)
    for i, tensor in enumerate(tensors):
        out[i, : tensor.shape[0]] = tensor
    return out


def collate(items: list[tuple]) -> dict[str, torch.Tensor]:  # type: ignore[type-arg]
    """`ClipItem`s (or (frames, tokens, glosses) tuples) -> a batch: frames and keypoints padded with a validity
    mask, token ids and gloss ids padded with PAD=0, to the longest in the batch."""
    items = [ClipItem(*item) for item in items]
    lengths = [len(item.frames) if item.frames is not None else len(item.keypoints) for item in items]
    time = max(lengths)
    mask = torch.arange(time)[None] < torch.tensor(lengths)[:, None]
    tokens = torch.zeros(len(items), max(item.tokens.shape[0] for item in items), dtype=torch.long)
    glosses = torch.zeros(len(items), max(item.glosses.shape[0] for item in items), dtype=torch.long)
    for i, item in enumerate(items):
        tokens[i, : item.tokens.shape[0]] = item.tokens
        glosses[i, : item.glosses.shape[0]] = item.glosses
    batch = {"frame_mask": mask, "tokens": tokens, "glosses": glosses,
             "gloss_lengths": torch.tensor([item.glosses.shape[0] for item in items], dtype=torch.long)}
    if items[0].frames is not None:  # uint8 frames or fp16 features
        batch["frames"] = _padded([item.frames for item in items], time)
    if items[0].keypoints is not None:
        batch["keypoints"] = _padded([item.keypoints for item in items], time)
    if items[0].hands is not None:
        batch["hands"] = _padded([item.hands for item in items], time)
        batch["hands_found"] = _padded([item.hands_found for item in items], time)
    return batch


class ShardedBatchSampler(Sampler[list[int]]):
    """Per-rank batches of a seeded per-epoch permutation, resumable at any batch.

    Global batch g (world × batch_size clips) is the same set whatever the world size; rank r takes
    its r-th slice. So 2 GPUs × 8 see exactly the clips 1 GPU × 16 sees, and a run resumed at
    batch k continues with batch k, without replaying data.

    With `lengths` (frames per clip), batches are **length-bucketed**: the epoch's permutation is
    cut into pools of `BUCKET_POOL` global batches, each pool sorted by length and cut into batches
    of neighbours, and the batches shuffled (seeded). Clips of a batch then have similar lengths, so
    little compute goes to padding. With `max_frames` a batch holds as many clips as fit
    `max_frames` padded frames (and at most `batch_size`) instead of a fixed count. Every rank computes the same list, so all ranks take the same number of steps.
    """

    BUCKET_POOL = 32

    def __init__(self, size: int, batch_size: int, world: int = 1, rank: int = 0, seed: int = 0, shuffle: bool = True,
                 drop_last: bool = True, lengths: list[int] | None = None, max_frames: int = 0) -> None:
        self.size, self.batch_size, self.world, self.rank = size, batch_size, world, rank
        self.seed, self.shuffle, self.drop_last = seed, shuffle, drop_last
        self.lengths, self.max_frames = lengths, max_frames
        self.epoch, self.start_batch = 0, 0
        self._plan: tuple[int, list[list[list[int]]]] | None = None

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch, self.start_batch = epoch, start_batch

    def _order(self) -> list[int]:
        if not self.shuffle:
            return list(range(self.size))
        return torch.randperm(self.size, generator=self._generator()).tolist()

    def _generator(self) -> torch.Generator:
        return torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)

    def global_batches(self) -> list[list[list[int]]]:
        """This epoch's global batches, each a list of `world` per-rank batches (cached per epoch)."""
        if self._plan is not None and self._plan[0] == self.epoch:
            return self._plan[1]
        order = self._order()
        if self.lengths is None:
            batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        else:
            batches = []
            pool = self.BUCKET_POOL * self.batch_size * self.world
            for start in range(0, len(order), pool):
                batches += self._cut(sorted(order[start : start + pool], key=self._length))
        grouped = [batches[i : i + self.world] for i in range(0, len(batches), self.world)]
        if grouped and self.drop_last:
            last = grouped[-1]
            if len(last) < self.world or (not self.max_frames and len(last[-1]) < self.batch_size):
                grouped.pop()
        elif grouped:
            grouped[-1] += [[] for _ in range(self.world - len(grouped[-1]))]  # ranks past the data get nothing
        if self.lengths is not None and self.shuffle:
            permutation = torch.randperm(len(grouped), generator=self._generator()).tolist()
            grouped = [grouped[i] for i in permutation]
        self._plan = (self.epoch, grouped)
        return grouped

    def _length(self, key: int) -> int:
        assert self.lengths is not None
        return self.lengths[key]

    def _cut(self, ordered: list[int]) -> list[list[int]]:
        """Consecutive clips (sorted by length) into batches of batch_size clips or max_frames padded frames."""
        if not self.max_frames:
            return [ordered[i : i + self.batch_size] for i in range(0, len(ordered), self.batch_size)]
        batches, current = [], []
        for index in ordered:
            longest = max(self._length(i) for i in [*current, index])
            if current and (longest * (len(current) + 1) > self.max_frames or len(current) >= self.batch_size):
                batches.append(current)
                current = []
            current.append(index)
        return batches + [current] if current else batches

    def batches_per_epoch(self) -> int:
        return len(self.global_batches())

    def __len__(self) -> int:
        return max(0, self.batches_per_epoch() - self.start_batch)

    def __iter__(self) -> Iterator[list[int]]:
        for group in self.global_batches()[self.start_batch :]:
            if group[self.rank]:
                yield group[self.rank]


def fork_safe_opencv() -> None:
    """Call in the parent before its loader forks workers. OpenCV's thread pool does not survive fork: once the
    parent has resized a large image, a forked worker that calls OpenCV (or `cv2.setNumThreads`) hangs and the
    loader kills it (measured: a 600 x 512 resize in the parent, then a worker died). One OpenCV thread in the
    parent leaves no pool to inherit; isltk parallelises across processes (loader workers, prepare's pool)."""
    cv2.setNumThreads(1)


def quiet_worker(worker_id: int) -> None:
    """A loader worker uses one thread: OpenCV's own thread pool in each worker would compete with the
    training step's threads for the same cores (measured: more system time, fewer clips/s)."""
    cv2.setNumThreads(1)
    torch.set_num_threads(1)


def sequential_loader(dataset: PreparedClips, batch_size: int) -> DataLoader:
    """Every clip once, in manifest order, unaugmented batches: for validation and evaluation.
    Its own generator keeps the global RNG untouched (so validating never shifts training's dropout)."""
    sampler = ShardedBatchSampler(len(dataset), batch_size, shuffle=False, drop_last=False)
    return DataLoader(dataset, batch_sampler=sampler, collate_fn=collate, num_workers=0, generator=torch.Generator())
