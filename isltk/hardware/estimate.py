"""Does a config's training step fit a GPU, and what is the largest batch per GPU?

Traced bytes (isltk.hardware.memory) plus what a trace cannot see, each a named line:
- CUDA context and library workspaces: the context PyTorch creates with its kernels loaded, plus
  cuBLAS/cuDNN workspaces. Typical values on recent drivers; `--probe` measures the truth.
- allocator fragmentation: the caching allocator reserves more than the live tensors; a margin.
- DDP gradient buckets: 0 with gradient_as_bucket_view=True (isltk's setting: grads are views into
  the buckets); one more copy of the gradients otherwise.
- FSDP: parameters, gradients and optimizer state divided over the GPUs, plus the largest unit
  (one ViT block) all-gathered twice (current + prefetched).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from isltk.config import Config
from isltk.data import cache
from isltk.data.dataset import clip_lengths
from isltk.hardware.catalog import GIB, GPU
from isltk.hardware.memory import MemoryModel, StepMemory, cached_memory_model
from isltk.models.spec import model_config
from isltk.models.summary import summarize

CUDA_CONTEXT_BYTES = 600 * 1024**2
WORKSPACE_BYTES = 64 * 1024**2
FRAGMENTATION = 0.05
ASSUMED_MFU = 0.40


@dataclass
class Breakdown:
    lines: dict[str, int]  # name -> bytes

    @property
    def total(self) -> int:
        return sum(self.lines.values())


@dataclass(frozen=True)
class LengthPlan:
    """Frames per clip to plan with: the padded length of the longest batch (memory) and the mean
    length (time), with where they come from."""

    memory_frames: int
    time_frames: int
    clips: int  # clips per epoch for the time estimate
    source: str


def length_plan(config: Config) -> LengthPlan:
    """The prepared corpus's real lengths when a time-based cache exists, else the config's frames.

    Memory: the length-bucketed sampler pads a batch to its longest clip, so the worst batch is one
    padded to the longest train clip (with `max_frames_per_batch`, no batch exceeds that many frames).
    Time: FLOPs grow with frames, so an epoch costs about clips x the mean length."""
    data, training = config.data, config.training

    def batch_bound(frames: int) -> int:  # with max_frames_per_batch, no batch holds more padded frames than that
        return min(frames, max(1, training.max_frames_per_batch // training.batch_size)) if training.max_frames_per_batch else frames

    if not data.time_based:
        return LengthPlan(data.num_frames, data.num_frames, config.hardware.dataset_clips, "fixed data.num_frames")
    if cache.is_complete(data.prepared_dir):
        try:
            train = cache.load_manifest(data.prepared_dir, "train")
        except Exception:  # a cache of another version: plan from the config instead
            train = []
        lengths = [n for n in clip_lengths(train) if n > 0]
        if lengths:
            return LengthPlan(batch_bound(max(lengths)), max(1, round(sum(lengths) / len(lengths))), len(lengths),
                              f"prepared corpus {data.prepared_dir}: longest batch {max(lengths)} frames/clip, "
                              f"mean {sum(lengths) / len(lengths):.1f}, {len(lengths)} train clips")
    bound = batch_bound(data.max_frames)
    return LengthPlan(bound, bound, config.hardware.dataset_clips,
                      f"{'training.max_frames_per_batch' if bound < data.max_frames else 'data.max_frames'} (no prepared "
                      "cache yet: run prepare for the real length distribution)")


@dataclass
class Estimate:
    config_gpu: str
    batch: int
    frames: int
    num_gpus: int
    strategy: str
    parameters: dict[str, int]
    train_gflop_per_clip: float
    forward_gflop_per_clip: float
    models: dict[bool, MemoryModel] = field(default_factory=dict)  # grad_checkpointing -> model
    lengths: LengthPlan | None = None

    @property
    def sharded(self) -> bool:
        return self.strategy == "fsdp" and self.num_gpus > 1

    @property
    def ddp(self) -> bool:
        return self.num_gpus > 1 and not self.sharded

    def step_memory(self, batch: int, checkpointing: bool) -> StepMemory:
        return self.models[checkpointing].at(batch, resident_gradients=self.ddp)

    def breakdown(self, batch: int, checkpointing: bool) -> Breakdown:
        m = self.step_memory(batch, checkpointing)
        params, grads, optim = m.parameters, m.gradients, m.optimizer
        lines: dict[str, int] = {}
        if self.sharded:
            model = self.models[checkpointing]
            block = model.block_parameter_bytes()
            root = max(0, int(m.parameters - model.vit_layers * block))  # patch embed, temporal, decoder: one FSDP unit
            params, grads, optim = params // self.num_gpus, grads // self.num_gpus, optim // self.num_gpus
        lines["weights"] = params
        lines["gradients (DDP buckets: held all step)" if self.ddp else "gradients"] = grads
        lines["optimizer state (AdamW)"] = optim
        lines["activations"] = m.activations
        if self.sharded:
            lines["FSDP all-gathered blocks (2 x one ViT block)"] = int(2 * block)
            lines["FSDP root unit, all-gathered (non-ViT-block weights)"] = root - root // self.num_gpus
        lines["CUDA context"] = CUDA_CONTEXT_BYTES
        lines["cuBLAS/cuDNN workspaces"] = WORKSPACE_BYTES
        lines["allocator fragmentation margin (5%)"] = int(FRAGMENTATION * m.total)
        return Breakdown(lines)

    def fits(self, gpu: GPU, batch: int, checkpointing: bool) -> bool:
        return self.breakdown(batch, checkpointing).total <= gpu.memory_bytes

    def max_batch(self, gpu: GPU, checkpointing: bool) -> int:
        return largest_batch(lambda batch: self.fits(gpu, batch, checkpointing), limit=1 << 16)

    def epoch_hours(self, gpu: GPU, clips: int, checkpointing: bool = False) -> float:
        """Training FLOPs at ASSUMED_MFU; activation checkpointing runs the forward once more (~+33%: a step is
        about 3 forwards' worth; counted as the whole model's forward, an upper bound as only the ViT recomputes)."""
        gflop = self.train_gflop_per_clip + (self.forward_gflop_per_clip if checkpointing else 0.0)
        flop = gflop * 1e9 * clips
        return flop / (gpu.peak_tflops * 1e12 * ASSUMED_MFU * self.num_gpus) / 3600


def largest_batch(fits: Callable[[int], bool], start: int = 1, limit: int | None = None) -> int:
    """The largest batch for which `fits` holds (0 if none): double from `start` until it fails (or passes
    `limit`), then bisect, as memory grows with the batch. The traced prediction and the GPU probe both search so."""
    low, high = 0, max(1, start)
    while fits(high) and (limit is None or high < limit):
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if fits(mid) else (low, mid)
    return low


def estimate(config: Config) -> Estimate:
    plan = length_plan(config)
    model_cfg = model_config(config)
    summary = summarize(model_cfg, plan.time_frames, config.decoder.max_length - 1)
    amp = config.training.use_amp
    models = {ckpt: cached_memory_model(model_cfg, plan.memory_frames, amp, ckpt) for ckpt in (False, True)}
    return Estimate(config.hardware.gpu, config.training.batch_size, plan.memory_frames, config.hardware.num_gpus,
                    config.training.distributed, summary.parameters, summary.train_gflop_per_clip, summary.forward_gflop_per_clip, models, plan)


def accumulation_for(batch: int, max_batch: int) -> tuple[int, int]:
    """(per-GPU batch, accumulation steps) that keep an effective batch of at least `batch`."""
    if max_batch <= 0:
        return 0, 0
    steps = math.ceil(batch / max_batch)
    return math.ceil(batch / steps), steps


def gib(value: int) -> float:
    return value / GIB
