from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from isltk.data import cache
from isltk.data.dataset import (
    Augment,
    PreparedClips,
    ShardedBatchSampler,
    collate,
    frame_indices,
    shift_frames,
)
from isltk.data.prepare import prepare_cache
from isltk.data.vocab import Vocabulary
from isltk.errors import DataError
from isltk.synth.simple import make_corpus
from tests.conftest import small_config


def test_global_batches_do_not_depend_on_world_size() -> None:
    single = list(ShardedBatchSampler(40, 8, world=1, rank=0, seed=3))
    ranks = [list(ShardedBatchSampler(40, 4, world=2, rank=r, seed=3)) for r in range(2)]
    for b, batch in enumerate(single):
        assert sorted(ranks[0][b] + ranks[1][b]) == sorted(batch)
        assert not set(ranks[0][b]) & set(ranks[1][b])


def test_sampler_resumes_at_a_batch_without_replay() -> None:
    sampler = ShardedBatchSampler(30, 4, seed=1)
    sampler.set_epoch(2)
    full = list(sampler)
    sampler.set_epoch(2, start_batch=3)
    assert list(sampler) == full[3:] and len(sampler) == len(full) - 3
    sampler.set_epoch(3)
    assert list(sampler) != full  # a new permutation each epoch


def test_frame_indices_cover_the_clip() -> None:
    assert frame_indices(24, 16, None).tolist() == sorted(frame_indices(24, 16, None).tolist())
    rng = np.random.default_rng(0)
    jittered = frame_indices(24, 16, rng)
    assert jittered.min() >= 0 and jittered.max() <= 23 and np.all(np.diff(jittered) >= 0)


def test_shift_fills_with_black() -> None:
    frames = np.full((2, 4, 4, 3), 9, np.uint8)
    shifted = shift_frames(frames, 1, -1)
    assert shifted[:, 0].max() == 0 and shifted[:, :, -1].max() == 0 and shifted[:, 1:, :-1].min() == 9


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ds")
    make_corpus(root, train_clips=12, val_clips=2, test_clips=2, seed=5)
    cfg = small_config(root, cache_frames=12)
    prepare_cache(cfg, workers=1)
    return cfg.data.prepared_dir


def test_augmented_batches_are_the_same_with_or_without_workers(prepared: Path) -> None:
    vocab = cache.load_text_vocabulary(prepared)
    dataset = PreparedClips(prepared, "train", vocab, Augment(8, temporal_jitter=True, spatial_jitter_px=2), max_length=16, seed=7)
    dataset.set_epoch(1)
    sampler = ShardedBatchSampler(len(dataset), 4, seed=7)

    def batches(workers: int) -> list[dict]:
        return list(DataLoader(dataset, batch_sampler=sampler, collate_fn=collate, num_workers=workers))

    inline, parallel = batches(0), batches(2)
    for a, b in zip(inline, parallel, strict=True):
        assert torch.equal(a["frames"], b["frames"]) and torch.equal(a["tokens"], b["tokens"])
    assert inline[0]["frames"].dtype == torch.uint8 and inline[0]["frames"].shape[1:] == (8, 32, 32, 3)


def test_missing_cache_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="run `isltk prepare`"):
        PreparedClips(tmp_path, "train", Vocabulary.build([["a"]]), Augment(4), 8)


def spread_lengths(count: int, seed: int = 0) -> list[int]:
    """Clip lengths spread 10x (10..100 frames), as sentence-level corpora have."""
    return np.random.default_rng(seed).integers(10, 101, count).tolist()


@pytest.mark.parametrize("max_frames", [0, 640])
def test_length_buckets_waste_little_padding(max_frames: int) -> None:
    lengths = spread_lengths(600)
    sampler = ShardedBatchSampler(600, 16, seed=2, lengths=lengths, max_frames=max_frames)
    padded = real = 0
    for batch in sampler:
        padded += max(lengths[i] for i in batch) * len(batch)
        real += sum(lengths[i] for i in batch)
        if max_frames:
            assert max(lengths[i] for i in batch) * len(batch) <= max_frames or len(batch) == 1
    assert real / padded >= 0.90  # padding waste at most 10%
    unbucketed = ShardedBatchSampler(600, 16, seed=2)
    waste = 1 - sum(lengths) / sum(max(lengths[i] for i in b) * len(b) for b in unbucketed)
    assert waste > 0.3  # what bucketing saves


def test_length_buckets_are_deterministic_distributed_and_resumable() -> None:
    lengths = spread_lengths(200, seed=1)
    ranks = [ShardedBatchSampler(200, 4, world=2, rank=r, seed=5, lengths=lengths, max_frames=300) for r in range(2)]
    for sampler in ranks:
        sampler.set_epoch(3)
    batches = [list(s) for s in ranks]
    assert len(batches[0]) == len(batches[1]) == ranks[0].batches_per_epoch()  # every rank takes the same steps
    seen = [i for rank in batches for batch in rank for i in batch]
    assert len(seen) == len(set(seen))
    again = ShardedBatchSampler(200, 4, world=2, rank=0, seed=5, lengths=lengths, max_frames=300)
    again.set_epoch(3, start_batch=5)
    assert list(again) == batches[0][5:]
    again.set_epoch(4)
    assert list(again) != batches[0]


def test_variable_length_clips_are_padded_and_masked() -> None:
    items = [(torch.ones(n, 4, 4, 3, dtype=torch.uint8), torch.tensor([2, 5, 3]), torch.tensor([1, 2][:g]))
             for n, g in ((3, 2), (7, 0))]
    batch = collate(items)
    assert batch["frames"].shape[:2] == (2, 7)
    assert batch["frame_mask"].sum(1).tolist() == [3, 7]
    assert batch["frames"][0, 3:].max() == 0
    assert batch["gloss_lengths"].tolist() == [2, 0] and batch["glosses"].tolist() == [[1, 2], [0, 0]]
