"""The training loop: mixed precision, gradient accumulation, DDP/FSDP, validation BLEU, exact resume.

Run examples:
    isltk train --config configs/tiny.yaml
    torchrun --nproc-per-node 4 -m isltk train --config configs/a100.yaml
    isltk train --config configs/a100.yaml --resume auto

Exact resume: a checkpoint holds weights, optimizer, scheduler, grad scaler, every RNG state (per
rank) and the data position (epoch + global batch index). Batches come from a seeded per-epoch
permutation and augmentation is seeded per clip, so the resumed run sees the very batches the
uninterrupted one would have, without replaying data.
"""

from __future__ import annotations

import math
import random
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader

from isltk.config import Config, validate_config
from isltk.data import cache
from isltk.data.dataset import (
    Augment,
    PreparedClips,
    ShardedBatchSampler,
    clip_lengths,
    collate,
    fork_safe_opencv,
    quiet_worker,
    sequential_loader,
)
from isltk.data.inputs import resolve as resolve_inputs
from isltk.data.supervision import SignLabels, run_sign_labels
from isltk.errors import CheckpointError, IsltkError
from isltk.fsutil import FolderLock
from isltk.metrics import bleu
from isltk.models.decoder import sequence_loss
from isltk.models.familiarity import Familiarity, clip_vectors
from isltk.models.spec import VocabularySizes, model_config
from isltk.models.translator import PAD_ID, ModelConfig, SignTranslator, build_model
from isltk.training import checkpoint as ckpt
from isltk.training import run_folder
from isltk.training.distributed import (
    all_reduce_sum,
    barrier,
    gradient_sync,
    init_distributed,
    pick_device,
    unwrap,
    wrap_model,
)
from isltk.training.features import ensure_feature_cache
from isltk.training.host import keep_freed_memory
from isltk.training.metrics_log import MetricsLog
from isltk.training.optim import apply_settings, build_optimizer, build_scheduler
from isltk.training.step import (
    StepSettings,
    autocast,
    backward,
    clip_gradients,
    forward_objective,
    make_grad_scaler,
    optimizer_step,
)


class NonFiniteLossError(IsltkError):
    """Loss or gradient became NaN/inf; raised before the optimizer step, so weights are untouched."""


class TrainingInterrupted(IsltkError):
    def __init__(self, signum: int, checkpoint: Path | None) -> None:
        self.signum, self.checkpoint = signum, checkpoint
        name = signal.Signals(signum).name
        super().__init__(f"stopped by {name} after finishing the current step; checkpoint saved to {checkpoint}; "
                         f"continue with `isltk train --resume auto` (same --config/--out)")


@dataclass
class TrainState:
    epoch: int = 0
    batch_in_epoch: int = 0  # global batches of the current epoch already consumed
    step: int = 0
    best_bleu: float = -1.0
    validations_without_gain: int = 0


@dataclass
class StepInfo:
    epoch: int
    step: int
    total_steps: int
    loss: float
    lr: float
    grad_norm: float
    clips_per_s: float
    eta_s: float


@dataclass
class RunStart:
    run_dir: Path
    device: str
    world: int  # processes (GPUs) training together
    amp: str  # "bf16", "fp16" or "fp32"
    steps_per_epoch: int
    total_steps: int
    resumed_at_step: int  # 0 for a fresh run
    resume_changes: list[str]  # settings changed since the checkpoint, now in force (e.g. "rest: lr 0.001 -> 0.0001")
    train_clips: int
    val_clips: int
    model_config: ModelConfig  # the model being trained, for the printed summary
    supervision: str  # e.g. "pseudo-glosses from 57 words: frame + memory multiple-instance losses"
    inputs_choice: str = ""  # data.keypoints auto: what it became (isltk.data.inputs); "" otherwise


@dataclass
class ValidationInfo:
    epoch: int
    step: int
    loss: float  # nats per target token
    bleu4: float
    best: bool  # the best validation so far (its checkpoint is marked best)
    examples: list[tuple[str, str]]  # (reference, hypothesis) of the first clips


@dataclass
class TrainResult:
    run_dir: Path
    state: TrainState
    last_checkpoint: Path | None
    best_checkpoint: Path | None
    stopped_early: bool = False


@dataclass
class Callbacks:
    on_start: Callable[[RunStart], None] | None = None
    on_step: Callable[[StepInfo], None] | None = None
    on_validation: Callable[[ValidationInfo], None] | None = None
    on_features: Callable[[int, int], None] | None = None  # (clips done, clips) while caching frozen-backbone features


def describe_supervision(labels: SignLabels, model_cfg: ModelConfig) -> str:
    """Which labels train the encoder and through which losses (what `train` prints)."""
    temporal = "temporal CTC" if model_cfg.ordered_glosses else "temporal multiple-instance"
    losses = [temporal if name == "temporal" else name for name in model_cfg.gloss_heads]
    if labels.kind == "none" or not losses:
        return "none (translation loss only)"
    return f"{labels.describe()}: {' + '.join(losses)} gloss losses"


class Trainer:
    def __init__(self, config: Config, run_dir: Path | None = None, resume: str | None = None,
                 callbacks: Callbacks | None = None) -> None:
        resolved = resolve_inputs(config)  # data.keypoints auto: what prepare chose, stored in every checkpoint
        self.cfg, self.inputs_choice = resolved.config, resolved.line
        self.info = init_distributed("cuda" if config.training.device != "cpu" and torch.cuda.is_available() else "cpu")
        self.device = pick_device(config.training.device, self.info.local_rank, "training.device")
        if self.device.type == "cpu":
            keep_freed_memory()
        self.callbacks = (callbacks or Callbacks()) if self.info.is_main else Callbacks()  # only rank 0 reports
        self.run_dir, resume_path = self._resolve_run(run_dir, resume)
        made_run_dir = not self.run_dir.exists()
        self._lock = self._claim_run(resume)
        self.log = MetricsLog(self.run_dir, enabled=self.info.is_main)
        self.ckpt_dir = run_folder.checkpoints_dir(self.run_dir)
        self._stop_signal = 0
        try:
            self._setup(resume_path)
        except BaseException:
            if self._lock is not None:  # e.g. no prepared cache: a folder this call made is not left behind empty
                self._lock.release_and_remove_if_unused() if made_run_dir else self._lock.release()
            raise

    # -- setup ------------------------------------------------------------------------------------
    def _resolve_run(self, run_dir: Path | None, resume: str | None) -> tuple[Path, Path | None]:
        runs = self.cfg.training.runs_dir
        resume_path: Path | None = None
        if resume and resume != "auto":
            resume_path = ckpt.resolve_checkpoint(Path(resume))
            run_dir = run_dir or run_folder.run_dir_of(resume_path)
        elif resume == "auto":
            run_dir = run_dir or ckpt.latest_run(runs)
            if run_dir is not None:
                found = ckpt.list_checkpoints(run_folder.checkpoints_dir(run_dir))
                resume_path = found[-1] if found else None
        if run_dir is None:
            stamp = [time.strftime("%Y%m%d-%H%M%S")]
            if self.info.enabled:
                dist.broadcast_object_list(stamp, src=0)  # every rank writes under the same run folder
            run_dir = runs / stamp[0]
        return Path(run_dir), resume_path

    def _claim_run(self, resume: str | None) -> FolderLock | None:
        """Rank 0 owns the run folder: a folder that holds another run is never started over (that would prune its
        checkpoints and mix its metrics) unless resumed, and two trainings never write into one folder at once."""
        if not self.info.is_main:
            return None
        if resume is None and run_folder.holds_run(self.run_dir):
            raise IsltkError(f"{self.run_dir}: already holds a training run; continue it with --resume auto, "
                             "or train into another --out")
        return FolderLock(self.run_dir, "train")

    def _setup(self, resume_path: Path | None) -> None:
        cfg, t = self.cfg, self.cfg.training
        self.vocab = cache.load_text_vocabulary(cfg.data.prepared_dir)
        self.labels = run_sign_labels(cfg)
        self.model_cfg = model_config(cfg, VocabularySizes(len(self.vocab), self.labels.size, self.labels.ordered))
        torch.manual_seed(t.seed)  # the same initial weights on every rank (FSDP shards each rank's own)
        model = build_model(self.model_cfg, load_weights=resume_path is None).to(self.device)
        torch.manual_seed(t.seed + self.info.rank)  # then per-rank seeding: different dropout masks per GPU
        random.seed(t.seed + self.info.rank)
        np.random.seed(t.seed + self.info.rank)
        if t.compile and model.encoder is not None:  # the per-frame ViT is where the FLOPs are; compile it before DDP wraps the model
            model.encoder.vit.compile()
        features_dir = self._feature_cache(model) if cfg.encoder.freeze_epochs < 0 else None
        self.step_settings = StepSettings.from_config(cfg, self.device)
        self.model: torch.nn.Module = wrap_model(model, self.info, t.distributed, self.device,
                                                 find_unused=cfg.encoder.freeze_epochs != 0, amp_dtype=self.step_settings.amp_dtype)
        self.optimizer = build_optimizer(self.model, t.optimizer, self.device)
        frames = None if cfg.data.time_based else cfg.data.num_frames
        a = t.augmentation
        jitter = a.temporal_jitter and (cfg.data.time_based or cfg.data.stored_frames > cfg.data.num_frames)
        augment = Augment(frames, jitter, a.spatial_jitter_px, a.color_jitter, a.scale_jitter)
        self.train_set = PreparedClips(cfg.data.prepared_dir, "train", self.vocab, augment, cfg.decoder.max_length, t.seed,
                                       self.labels, features_dir)
        self.val_set = PreparedClips(cfg.data.prepared_dir, "val", self.vocab, Augment(frames), cfg.decoder.max_length,
                                     features_dir=features_dir)
        if len(self.train_set) < t.batch_size * self.info.world:
            raise IsltkError(f"{cfg.data.prepared_dir}: {len(self.train_set)} train clips is fewer than one global batch "
                             f"({t.batch_size} x {self.info.world} GPUs); lower training.batch_size")
        lengths = clip_lengths(self.train_set.records) if cfg.data.time_based else None
        self.sampler = ShardedBatchSampler(len(self.train_set), t.batch_size, self.info.world, self.info.rank, t.seed,
                                           lengths=lengths, max_frames=t.max_frames_per_batch if lengths else 0)
        self.steps_per_epoch = self.sampler.batches_per_epoch() // t.grad_accum_steps
        self.total_steps = t.total_steps or self.steps_per_epoch * t.num_epochs
        self.scheduler = build_scheduler(self.optimizer, t.optimizer, self.total_steps)
        self.scaler = make_grad_scaler(self.step_settings, self.device, self.info.enabled and t.distributed == "fsdp")
        self.state = TrainState()
        self.resume_changes: list[str] = []  # optimisation settings a resumed run changed (it follows them)
        self.familiarity: Familiarity | None = None  # the last validation's memory statistics (translate's warning)
        if resume_path is not None:
            self._load(resume_path)

    def _feature_cache(self, model: SignTranslator) -> Path:
        """Frozen backbone for the whole run: its per-frame features, computed once (rank 0) and cached."""
        model.set_frozen(True)
        if self.info.is_main:
            ensure_feature_cache(model, self.cfg.data.prepared_dir, self.device, self.cfg.training.seed, self.callbacks.on_features)
        barrier(self.info)
        return ensure_feature_cache(model, self.cfg.data.prepared_dir, self.device, self.cfg.training.seed)

    def _load(self, path: Path) -> None:
        meta = ckpt.read_meta(path)
        saved = ModelConfig.model_validate(meta["model_config"])
        if saved != self.model_cfg:
            diff = [k for k in ("encoder", "temporal", "decoder", "image_size", "vocab_size") if getattr(saved, k) != getattr(self.model_cfg, k)]
            raise CheckpointError(f"{path}: checkpoint model differs from the config in {diff}; resume with the config it was trained with")
        if meta["vocab"] != list(self.vocab.tokens):
            raise CheckpointError(f"{path}: vocabulary differs from the one in {self.cfg.data.prepared_dir}; the cache was rebuilt")
        parts = self._parts()
        parts.scheduler = None  # the schedule follows the current config (below), not the saved one
        ckpt.restore_training(path, parts)
        self.state = TrainState(**meta["train_state"])
        if ckpt.best_checkpoint(self.ckpt_dir) is None:
            # stopped between saving a validated checkpoint and naming it best: the next validation that
            # matches the stored best would not count as a gain, and the run would never name a best at all
            self.state.best_bleu = -1.0
        self.familiarity = Familiarity.from_dict(meta.get("familiarity"))
        t = self.cfg.training
        saved = validate_config(meta["config"], str(path / "meta.json")).training
        self.resume_changes = apply_settings(self.optimizer, self.model, t.optimizer)
        self.resume_changes += [f"{name} {old} -> {new}" for name, old, new in (
            ("total_steps", saved.total_steps, t.total_steps), ("num_epochs", saved.num_epochs, t.num_epochs),
            ("warmup_steps", saved.optimizer.warmup_steps, t.optimizer.warmup_steps)) if old != new]
        self.scheduler = build_scheduler(self.optimizer, t.optimizer, self.total_steps, start_step=self.state.step)

    def _parts(self) -> ckpt.TrainingParts:
        return ckpt.TrainingParts(self.model, self.optimizer, self.scheduler, self.scaler, self.info, self.cfg.training.distributed)

    # -- checkpoints --------------------------------------------------------------------------------
    def save(self) -> Path | None:
        meta = ckpt.training_meta(self.cfg, self.model_cfg, self.vocab, asdict(self.state), self.info.world,
                                  self.labels, self.familiarity)
        path = ckpt.save_training(self.ckpt_dir, self.state.step, self._parts(), meta, self.cfg.training.checkpoints.keep)
        barrier(self.info)
        return path

    # -- the step -----------------------------------------------------------------------------------
    def train_step(self, group: list[dict[str, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """One optimizer step over `group` micro-batches; returns (mean translation loss per token, grad norm,
        the gloss losses in use, each the mean per clip: `temporal_gloss_loss`, `frame_gloss_loss`, `memory_gloss_loss`)."""
        self.model.train()
        core = unwrap(self.model)
        local_tokens = sum(int((b["tokens"][:, 1:] != PAD_ID).sum()) for b in group)
        total_tokens = all_reduce_sum(torch.tensor(float(local_tokens), device=self.device), self.info)
        loss_sum = torch.zeros((), device=self.device)
        gloss_sums: dict[str, torch.Tensor] = {}
        for i, batch in enumerate(group):
            last = i == len(group) - 1
            with gradient_sync(self.model, sync=last or not self.info.enabled):
                inputs = core.batch_inputs(batch, self.device)
                result = forward_objective(
                    self.model, inputs.frames, inputs.frame_mask, batch["tokens"].to(self.device, non_blocking=True),
                    self.step_settings, batch["glosses"].to(self.device), batch["gloss_lengths"].to(self.device), inputs.streams)
                # sum over tokens / global token count (x world: DDP averages gradients over ranks)
                backward(result, total_tokens / self.info.world, self.scaler if self.scaler.is_enabled() else None)
            loss_sum = loss_sum + result.translation.detach()
            for name, term in result.glosses.items():
                gloss_sums[f"{name}_gloss_loss"] = term.detach() + gloss_sums.get(f"{name}_gloss_loss", 0)
        scaler = self.scaler if self.scaler.is_enabled() else None
        grad_norm = clip_gradients(self.model, self.optimizer, scaler, self.step_settings.max_grad_norm)
        mean_loss = all_reduce_sum(loss_sum, self.info) / total_tokens
        bad_grad = scaler is None and not bool(torch.isfinite(grad_norm))
        if not bool(torch.isfinite(mean_loss)) or bad_grad:
            self.optimizer.zero_grad(set_to_none=True)
            what = "loss" if not bool(torch.isfinite(mean_loss)) else "gradient norm"
            raise NonFiniteLossError(
                f"step {self.state.step + 1} (epoch {self.state.epoch + 1}): {what} is {float(mean_loss if what == 'loss' else grad_norm)}; "
                "stopped before the optimizer step, weights unchanged. Try lower training.optimizer.encoder_lr / learning_rate "
                "(e.g. halve them) or lower training.optimizer.max_grad_norm (e.g. 0.3); resume from the last checkpoint with --resume auto"
            )
        optimizer_step(self.optimizer, scaler)
        self.scheduler.step()
        glosses: dict[str, torch.Tensor] = {}
        if gloss_sums:  # per clip, over all ranks
            clips = all_reduce_sum(torch.tensor(float(sum(len(b["tokens"]) for b in group)), device=self.device), self.info)
            glosses = {name: all_reduce_sum(total, self.info) / clips for name, total in gloss_sums.items()}
        return mean_loss.detach(), grad_norm.detach(), glosses

    # -- validation ---------------------------------------------------------------------------------
    @torch.no_grad()
    def validate(self) -> dict[str, Any]:
        """Greedy decoding of the val split: loss per token and corpus BLEU-4 (reported by rank 0)."""
        result: dict[str, Any] = {}
        # FSDP shards the weights: every forward needs every rank, so all ranks decode the (same) val
        # split in lockstep. DDP keeps full weights per rank: rank 0 decodes alone, the others wait.
        sharded = self._parts().sharded
        if (self.info.is_main or sharded) and len(self.val_set):
            core: SignTranslator = unwrap(self.model)  # type: ignore[assignment]
            core.eval()
            if sharded:
                core.unshard()  # type: ignore[operator]  # decoding calls submodules directly, not the root forward
            hypotheses, loss_sum, tokens_total, vectors = [], 0.0, 0, []
            for batch in sequential_loader(self.val_set, self.cfg.training.batch_size):
                inputs, tokens = core.batch_inputs(batch, self.device), batch["tokens"].to(self.device)
                with autocast(self.device.type, self.step_settings.amp_dtype):  # the clips are encoded once
                    memory, memory_mask = core.forward_features(*inputs)
                    summed, count = sequence_loss(core.decoder(tokens[:, :-1], memory, memory_mask), tokens[:, 1:], PAD_ID, 0.0)
                    hyps = core.translate_memory(memory, memory_mask, beam_size=1)
                vectors.append(clip_vectors(memory, memory_mask).cpu())
                loss_sum, tokens_total = loss_sum + float(summed), tokens_total + int(count)
                hypotheses += [self.vocab.normalized_text(h.tokens) for h in hyps]
            if sharded:
                core.reshard()  # type: ignore[operator]
            if self.info.is_main:
                self.familiarity = Familiarity.fit(torch.cat(vectors))
                references = [r["text_norm"] for r in self.val_set.records]
                result = {"loss": loss_sum / max(1, tokens_total), "bleu4": bleu(hypotheses, references).value,
                          "examples": list(zip(references[:3], hypotheses[:3], strict=True))}
        barrier(self.info)
        return result

    # -- the loop -----------------------------------------------------------------------------------
    def _request_stop(self, signum: int, _frame: Any) -> None:
        self._stop_signal = signum

    def _should_stop(self) -> int:
        if not self.info.enabled:
            return self._stop_signal
        flag = torch.tensor(float(self._stop_signal), device=self.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)  # all ranks stop at the same step
        return int(flag)

    def _loader(self) -> DataLoader:
        t = self.cfg.training
        if t.num_workers:
            fork_safe_opencv()
        return DataLoader(self.train_set, batch_sampler=self.sampler, collate_fn=collate, num_workers=t.num_workers,
                          pin_memory=t.pin_memory and self.device.type == "cuda", persistent_workers=False,
                          worker_init_fn=quiet_worker,
                          generator=torch.Generator().manual_seed(t.seed))  # keeps the global RNG untouched

    def fit(self) -> TrainResult:
        t = self.cfg.training
        previous = {sig: signal.signal(sig, self._request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            return self._fit()
        except torch.cuda.OutOfMemoryError:
            raise IsltkError(
                f"out of GPU memory at step {self.state.step + 1} with training.batch_size={t.batch_size}; "
                "run `isltk check-hardware --config <this config>` for the batch that fits, or set "
                "encoder.grad_checkpointing=true / a smaller batch with training.grad_accum_steps"
            ) from None
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.log.close()
            if self._lock is not None:
                self._lock.release()

    def _fit(self) -> TrainResult:
        t, state = self.cfg.training, self.state
        result = TrainResult(self.run_dir, state, None, None)
        if self.callbacks.on_start:
            amp = self.step_settings.amp_dtype
            self.callbacks.on_start(RunStart(self.run_dir, str(self.device), self.info.world,
                                             str(amp).replace("torch.", "") if amp else "fp32", self.steps_per_epoch,
                                             self.total_steps, state.step, self.resume_changes, len(self.train_set), len(self.val_set), self.model_cfg,
                                             describe_supervision(self.labels, self.model_cfg), self.inputs_choice))
        window_start, window_clips = time.perf_counter(), 0
        while state.epoch < t.num_epochs and state.step < self.total_steps:
            freeze = self.cfg.encoder.freeze_epochs
            unwrap(self.model).set_frozen(freeze < 0 or state.epoch < freeze)
            self.train_set.set_epoch(state.epoch)
            self.sampler.set_epoch(state.epoch, state.batch_in_epoch)
            iterator = iter(self._loader())
            while True:
                group = list(_take(iterator, t.grad_accum_steps))
                if len(group) < t.grad_accum_steps:
                    break
                loss, grad_norm, gloss_losses = self.train_step(group)
                state.step += 1
                state.batch_in_epoch += t.grad_accum_steps
                window_clips += sum(len(b["tokens"]) for b in group) * self.info.world
                if state.step % t.log_every_steps == 0 or state.step == 1:
                    elapsed = time.perf_counter() - window_start
                    rate = window_clips / elapsed if elapsed > 0 else 0.0
                    remaining = (self.total_steps - state.step) * t.batch_size * t.grad_accum_steps * self.info.world
                    info = StepInfo(state.epoch + 1, state.step, self.total_steps, float(loss), self.scheduler.get_last_lr()[-1],
                                    float(grad_norm), rate, remaining / rate if rate else math.inf)
                    extra = {name: float(value) for name, value in gloss_losses.items()}
                    self.log.write("train", state.step, epoch=info.epoch, loss=info.loss, lr=info.lr, grad_norm=info.grad_norm,
                                   clips_per_s=rate, **extra)
                    if self.callbacks.on_step:
                        self.callbacks.on_step(info)
                    window_start, window_clips = time.perf_counter(), 0
                if t.checkpoints.every_steps and state.step % t.checkpoints.every_steps == 0:
                    result.last_checkpoint = self.save()
                signum = self._should_stop()
                if signum:
                    raise TrainingInterrupted(signum, self.save())
                if state.step >= self.total_steps or (t.max_steps and state.step >= t.max_steps):
                    self._validate_and_track(result)  # the final model is validated and checkpointed too
                    return self._finish(result)
            state.epoch += 1
            state.batch_in_epoch = 0
            if state.epoch % t.checkpoints.val_every_epochs == 0 or state.epoch == t.num_epochs:
                if self._validate_and_track(result):
                    result.stopped_early = True
                    return self._finish(result)
            else:
                result.last_checkpoint = self.save()
        return self._finish(result)

    def _validate_and_track(self, result: TrainResult) -> bool:
        """Validate, checkpoint, mark best; True when early stopping says stop."""
        t, state = self.cfg.training, self.state
        metrics = self.validate()
        improved = bool(metrics) and metrics["bleu4"] > state.best_bleu
        if improved:
            state.best_bleu, state.validations_without_gain = metrics["bleu4"], 0
        elif metrics:
            state.validations_without_gain += 1
        result.last_checkpoint = self.save()
        if self.info.is_main and metrics:
            if improved and result.last_checkpoint is not None:
                ckpt.mark_best(self.ckpt_dir, result.last_checkpoint, metrics["bleu4"])
                ckpt.prune(self.ckpt_dir, t.checkpoints.keep)
            epoch = state.epoch + (state.batch_in_epoch > 0)  # epochs begun, so a stop at an epoch's last step says so
            self.log.write("val", state.step, epoch=epoch, loss=metrics["loss"], bleu4=metrics["bleu4"])
            self.log.plot()
            if self.callbacks.on_validation:
                self.callbacks.on_validation(ValidationInfo(epoch, state.step, metrics["loss"], metrics["bleu4"], improved,
                                                            metrics["examples"]))
        patience = t.checkpoints.early_stopping_patience
        stop = bool(patience) and state.validations_without_gain >= patience
        if self.info.enabled:
            flag = torch.tensor(float(stop), device=self.device)
            dist.broadcast(flag, src=0)
            stop = bool(flag)
        return stop

    def _finish(self, result: TrainResult) -> TrainResult:
        result.best_checkpoint = ckpt.best_checkpoint(self.ckpt_dir)
        return result


def _take(iterator: Any, count: int) -> Any:
    for _ in range(count):
        try:
            yield next(iterator)
        except StopIteration:
            return
