"""What a checkpoint holds and how it is written: crash safety, pruning, safe loading, full training state."""

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from isltk.errors import CheckpointError
from isltk.models.presets import preset_model_config
from isltk.training import checkpoint as ckpt
from isltk.training.distributed import DistInfo


def save(directory: Path, step: int) -> Path:
    return ckpt.save_checkpoint(directory, step, {"w": torch.full((2,), float(step))}, {"n": torch.tensor(step)}, {"note": "x"})


def test_an_interrupted_save_is_never_listed_or_resolved(tmp_path: Path) -> None:
    first = save(tmp_path, 1)
    broken = save(tmp_path, 2)
    (broken / ckpt.MARKER).unlink()  # killed before the marker was written
    (tmp_path / ".ckpt-00000003.tmp-999").mkdir()  # killed while staging
    assert ckpt.list_checkpoints(tmp_path) == [first]
    assert ckpt.resolve_checkpoint(tmp_path) == first
    with pytest.raises(CheckpointError, match="incomplete checkpoint"):
        ckpt.resolve_checkpoint(broken)
    assert ckpt.read_meta(first)["step"] == 1


def test_prune_keeps_the_newest_and_the_best(tmp_path: Path) -> None:
    paths = [save(tmp_path, step) for step in range(1, 6)]
    ckpt.mark_best(tmp_path, paths[1], bleu=12.5)
    ckpt.prune(tmp_path, keep_last=2)
    assert ckpt.list_checkpoints(tmp_path) == [paths[1], paths[3], paths[4]]
    assert ckpt.resolve_checkpoint(tmp_path) == paths[1]  # a run folder resolves to its best


class Payload:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (print, ("pickled code ran",))


def test_train_state_with_pickled_code_is_refused(tmp_path: Path) -> None:
    path = save(tmp_path, 1)
    torch.save({"optimizer": Payload()}, path / "state.pt")
    with pytest.raises(CheckpointError, match="refused"):
        ckpt.load_train_state(path)


def test_a_checkpoint_of_another_format_or_a_mismatched_vocabulary_is_a_clear_error(tmp_path: Path) -> None:
    path = save(tmp_path, 1)
    model_config = preset_model_config("tiny", vocab_size=6)
    meta = {"model_config": model_config.model_dump(mode="json"), "vocab": ["a", "b"], "config": {}}
    (path / "meta.json").write_text(json.dumps(meta))  # no format number: written before formats were numbered
    with pytest.raises(CheckpointError, match="another isltk version"):
        ckpt.read_model_meta(path)
    (path / "meta.json").write_text(json.dumps({**meta, "format": ckpt.CHECKPOINT_FORMAT}))
    with pytest.raises(CheckpointError, match="model expects 6"):
        ckpt.read_model_meta(path)


def draws() -> tuple:
    return torch.rand(3).tolist(), random.random(), float(np.random.rand())


def test_training_state_round_trips_weights_optimizer_schedule_and_rng(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    for _ in range(2):
        model(torch.randn(5, 4)).sum().backward()
        optimizer.step()
        scheduler.step()
    parts = ckpt.TrainingParts(model, optimizer, scheduler, torch.amp.GradScaler("cpu", enabled=False), DistInfo(), "ddp")
    path = ckpt.save_training(tmp_path, 2, parts, {"train_state": {}}, keep_last=1)
    assert path is not None
    expected = draws()

    torch.manual_seed(99)  # a fresh process: other weights, other RNG
    other = torch.nn.Linear(4, 3)
    other_optimizer = torch.optim.AdamW(other.parameters(), lr=0.1)
    other_scheduler = torch.optim.lr_scheduler.StepLR(other_optimizer, step_size=1, gamma=0.5)
    restored = ckpt.TrainingParts(other, other_optimizer, other_scheduler, torch.amp.GradScaler("cpu", enabled=False), DistInfo(), "ddp")
    ckpt.restore_training(path, restored)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), other.state_dict().values(), strict=True))
    assert other_scheduler.get_last_lr() == scheduler.get_last_lr()
    moments = [s["exp_avg"] for s in optimizer.state.values()], [s["exp_avg"] for s in other_optimizer.state.values()]
    assert all(torch.equal(a, b) for a, b in zip(*moments, strict=True))
    assert draws() == expected  # torch, python and numpy RNG continue where the saved run was
