"""Crash-safe checkpoints: a folder per save, valid only once its COMMITTED marker exists.

    ckpt-00001234/
      model.safetensors   weights (safetensors: no pickled code can ever run on load)
      state.pt            optimizer, scheduler, grad scaler, RNG states; tensors and plain containers
                          only, loaded with torch.load(weights_only=True)
      meta.json           resolved config, model config, vocabulary, epoch/step/data position, metrics
      COMMITTED           written last (after fsync of everything else)

A kill at any moment leaves earlier checkpoints intact and the new one either complete or ignored.
`best.json` names the best checkpoint (by val BLEU); older ones are pruned.

This module owns what a checkpoint holds: the trainer saves and restores through `save_training` /
`restore_training` (full state dicts gathered from DDP or FSDP, every rank's RNG), and inference reads the
same metadata with `read_model_meta`.
"""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from isltk.config import Config, config_to_dict
from isltk.data.supervision import SignLabels
from isltk.data.vocab import TextVocabulary, vocabulary_from_json
from isltk.errors import CheckpointError
from isltk.fsutil import atomic_write_json, fsync_dir
from isltk.models.familiarity import Familiarity
from isltk.models.translator import ModelConfig
from isltk.training import run_folder
from isltk.training.distributed import DistInfo, unwrap

MARKER = "COMMITTED"
PREFIX = "ckpt-"
# 2: meta.json always holds `vocabulary` and `gloss_vocab`; state.pt's RNG is a list, one per rank.
# 3: meta.json holds `supervision` (glosses / pseudo_glosses / none); the model config says which gloss heads.
# 4: the gloss heads are one mapping (model config `gloss_heads`, weights `gloss_heads.<name>.*`); meta.json holds
#    `familiarity` (the validation clips' memory statistics, or null).
# 5: the hand encoder has a fourth conv (weights `hands.convs.9.*`): a format-4 model with hand crops would not load.
CHECKPOINT_FORMAT = 5
LOW_SPACE_BYTES = 256 * 2**20  # a failed save with less free space than this is called a full disk


def is_valid(path: Path) -> bool:
    return path.is_dir() and (path / MARKER).is_file() and (path / "model.safetensors").is_file() and (path / "meta.json").is_file()


def save_checkpoint(directory: Path, step: int, model_state: dict[str, torch.Tensor], train_state: dict[str, Any],
                    meta: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"{PREFIX}{step:08d}"
    staging = directory / f".{PREFIX}{step:08d}.tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        save_file({k: v.detach().contiguous().cpu() for k, v in model_state.items()}, str(staging / "model.safetensors"))
        torch.save(train_state, staging / "state.pt")
    except (RuntimeError, OSError) as exc:  # torch and safetensors report a full disk as a RuntimeError
        shutil.rmtree(staging, ignore_errors=True)
        if shutil.disk_usage(directory).free < LOW_SPACE_BYTES or getattr(exc, "errno", None) == errno.ENOSPC:
            raise OSError(errno.ENOSPC, "No space left on device", str(staging)) from exc
        raise
    (staging / "meta.json").write_text(json.dumps({**meta, "format": CHECKPOINT_FORMAT, "step": step}, indent=1), encoding="utf-8")
    for name in ("model.safetensors", "state.pt", "meta.json"):
        with (staging / name).open("rb") as handle:
            os.fsync(handle.fileno())
    (staging / MARKER).write_text("ok\n")
    fsync_dir(staging)
    if final.exists():  # a re-save of the same step (e.g. SIGTERM right after a scheduled save)
        shutil.rmtree(final)
    os.replace(staging, final)
    fsync_dir(directory)
    return final


def list_checkpoints(directory: Path) -> list[Path]:
    """Valid checkpoints, oldest first; incomplete ones are never listed."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.name.startswith(PREFIX) and is_valid(p))


def latest_run(runs_dir: Path) -> Path | None:
    """The most recently modified run folder under runs_dir that holds a valid checkpoint."""
    runs = [p for p in runs_dir.glob("*") if list_checkpoints(run_folder.checkpoints_dir(p))] if runs_dir.is_dir() else []
    return max(runs, key=lambda p: p.stat().st_mtime, default=None)


def read_meta(path: Path) -> dict[str, Any]:
    """meta.json of a checkpoint of this version's format; one-line errors otherwise."""
    try:
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: unreadable checkpoint metadata ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != CHECKPOINT_FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise CheckpointError(f"{path}: written by another isltk version (checkpoint format {found}, this version reads "
                              f"{CHECKPOINT_FORMAT}); use that version, or train again")
    return meta


def resolve_checkpoint(path: Path) -> Path:
    """A checkpoint folder, a run folder (its best, else newest) or a checkpoints folder."""
    if path.is_file() and path.parent.name.startswith(PREFIX):
        path = path.parent
    if path.name.startswith(PREFIX) or (path / MARKER).is_file() or (path / "meta.json").is_file():
        missing = [name for name in (MARKER, "model.safetensors", "meta.json") if not (path / name).is_file()]
        if MARKER in missing:
            raise CheckpointError(f"{path}: incomplete checkpoint (no {MARKER} marker); it was interrupted while saving")
        if missing:
            raise CheckpointError(f"{path}: damaged checkpoint ({', '.join(missing)} missing beside {MARKER}); use another "
                                  "checkpoint of the run")
        return path
    folder = run_folder.holding_folder(path)
    best = best_checkpoint(folder)
    if best is not None:
        return best
    found = list_checkpoints(folder)
    if not found:
        raise CheckpointError(f"{path}: no valid checkpoint found (expected a run folder, its checkpoints/ or a "
                              f"{PREFIX}XXXXXXXX folder with {MARKER}, model.safetensors and meta.json)")
    return found[-1]


def best_checkpoint(directory: Path) -> Path | None:
    pointer = directory / run_folder.BEST_FILE
    if pointer.is_file():
        candidate = directory / json.loads(pointer.read_text(encoding="utf-8"))["name"]
        if is_valid(candidate):
            return candidate
    return None


def mark_best(directory: Path, checkpoint: Path, bleu: float) -> None:
    atomic_write_json(directory / run_folder.BEST_FILE, {"name": checkpoint.name, "bleu": bleu})


def prune(directory: Path, keep_last: int) -> None:
    """Keep the newest `keep_last` valid checkpoints and the best; drop older ones and stale staging dirs."""
    valid = list_checkpoints(directory)
    best = best_checkpoint(directory)
    for path in valid[:-keep_last]:
        if path != best:
            shutil.rmtree(path, ignore_errors=True)
    for stale in directory.glob(f".{PREFIX}*.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)


def load_model_state(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path / "model.safetensors"))
    except (OSError, SafetensorError) as exc:
        raise CheckpointError(f"{path / 'model.safetensors'}: unreadable ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
                              "the file is truncated or damaged: use another checkpoint of the run") from None


def load_train_state(path: Path) -> dict[str, Any]:
    try:
        return torch.load(path / "state.pt", map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path / 'state.pt'}: refused: not a plain-tensor state file ({type(exc).__name__}: {str(exc)[:200]})") from None


# -- what a training checkpoint holds ------------------------------------------------------------------
@dataclass
class TrainingParts:
    """Everything a resumed run must get back, and how it is distributed."""

    model: torch.nn.Module  # possibly DDP/FSDP-wrapped
    optimizer: torch.optim.Optimizer
    scheduler: Any  # saved for the record; restored only when given (the trainer rebuilds it from the config)
    scaler: torch.amp.GradScaler
    info: DistInfo
    strategy: str  # "ddp" | "fsdp"

    @property
    def sharded(self) -> bool:
        return self.info.enabled and self.strategy == "fsdp"


@dataclass
class ModelMeta:
    """What inference needs from meta.json: the model's shape, its vocabulary and the training config."""

    model_config: ModelConfig
    vocab: TextVocabulary
    config: dict[str, Any]
    gloss_vocab: list[str]  # the gloss heads' classes (index 0 = blank); empty without gloss heads
    supervision: str  # what trained the gloss heads: "glosses", "pseudo_glosses" or "none"
    familiarity: Familiarity | None = None  # the validation clips' memory statistics; None before a validation


def training_meta(config: Config, model_config: ModelConfig, vocab: TextVocabulary, train_state: dict[str, Any],
                  world_size: int, labels: SignLabels | None = None, familiarity: Familiarity | None = None) -> dict[str, Any]:
    """`vocab` lists the tokens (any reader can name the outputs); `vocabulary` is the whole vocabulary as
    vocab.json holds it (a subword tokenizer included), so a checkpoint alone turns ids back into text.
    `supervision` and `gloss_vocab` record the sign labels the gloss heads learnt (glosses or pseudo-glosses).
    The data paths are stored absolute, so evaluate and report find the cache from any working folder.
    `familiarity`: the last validation's memory statistics (isltk.models.familiarity), None before one."""
    stored = config_to_dict(config)
    stored["data"].update({key: str(Path(stored["data"][key]).resolve()) for key in ("video_dir", "csv_path", "prepared_dir")})
    return {"config": stored, "model_config": model_config.model_dump(mode="json"), "vocab": list(vocab.tokens),
            "vocabulary": vocab.to_json(), "supervision": labels.kind if labels else "none",
            "gloss_vocab": labels.names if labels else [], "train_state": train_state, "world_size": world_size,
            "familiarity": familiarity.to_dict() if familiarity else None}


def read_model_meta(path: Path) -> ModelMeta:
    meta = read_meta(path)
    model_config = ModelConfig.model_validate(meta["model_config"])
    if model_config.vocab_size != len(meta["vocab"]):
        raise CheckpointError(f"{path}: vocabulary has {len(meta['vocab'])} words but the model expects {model_config.vocab_size}")
    vocab = vocabulary_from_json(meta["vocabulary"], f"{path}: meta.json")
    return ModelMeta(model_config, vocab, meta["config"], list(meta["gloss_vocab"]), meta["supervision"],
                     Familiarity.from_dict(meta["familiarity"]))


def capture_rng() -> dict[str, Any]:
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {"torch": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "python": random.getstate(), "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached]}


def restore_rng(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    random.setstate(_tuplify(state["python"]))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))


def _tuplify(value: Any) -> Any:
    """JSON-free containers come back from torch.load as lists; random.setstate needs tuples."""
    return tuple(_tuplify(v) for v in value) if isinstance(value, list | tuple) else value


def _full_state_options() -> Any:
    from torch.distributed.checkpoint.state_dict import StateDictOptions

    return StateDictOptions(full_state_dict=True, cpu_offload=True)


def save_training(directory: Path, step: int, parts: TrainingParts, meta: dict[str, Any], keep_last: int) -> Path | None:
    """Collective under torch.distributed (FSDP gathers full state dicts; every rank's RNG is kept); rank 0 writes.
    Returns the checkpoint folder on rank 0, None elsewhere."""
    if parts.sharded:
        from torch.distributed.checkpoint.state_dict import get_model_state_dict, get_optimizer_state_dict

        weights = get_model_state_dict(parts.model, options=_full_state_options())
        optimizer = get_optimizer_state_dict(parts.model, parts.optimizer, options=_full_state_options())
    else:
        weights, optimizer = unwrap(parts.model).state_dict(), parts.optimizer.state_dict()
    rng: list[Any] = [capture_rng()]
    if parts.info.enabled:
        rng = [None] * parts.info.world
        dist.all_gather_object(rng, capture_rng())
    if not parts.info.is_main:
        return None
    train_state = {"optimizer": optimizer, "scheduler": parts.scheduler.state_dict() if parts.scheduler else {}, "scaler": parts.scaler.state_dict(), "rng": rng}
    path = save_checkpoint(directory, step, weights, train_state, meta)
    prune(directory, keep_last)
    return path


def restore_training(path: Path, parts: TrainingParts) -> None:
    """Weights, optimizer, scheduler, grad scaler and this rank's RNG, as `save_training` wrote them."""
    weights = load_model_state(path)
    train_state = load_train_state(path)
    if parts.sharded:
        from torch.distributed.checkpoint.state_dict import (
            StateDictOptions,
            set_model_state_dict,
            set_optimizer_state_dict,
        )

        set_model_state_dict(parts.model, weights, options=StateDictOptions(full_state_dict=True))
        set_optimizer_state_dict(parts.model, parts.optimizer, train_state["optimizer"], options=StateDictOptions(full_state_dict=True))
    else:
        unwrap(parts.model).load_state_dict(weights)
        parts.optimizer.load_state_dict(train_state["optimizer"])
    if parts.scheduler is not None:
        parts.scheduler.load_state_dict(train_state["scheduler"])
    parts.scaler.load_state_dict(train_state["scaler"])
    states = train_state["rng"]  # one per rank; a run resumed on fewer or more GPUs reuses rank 0's
    restore_rng(dict(states[parts.info.rank] if parts.info.rank < len(states) else states[0]))
