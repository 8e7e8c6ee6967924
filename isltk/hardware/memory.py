"""Predict training-step GPU memory without a GPU: trace the real step under FakeTensorMode.

One training step of the configured model (same optimizer, autocast dtype, activation
checkpointing, frames per clip, image size and decoder length) is traced with PyTorch's MemTracker
under FakeTensorMode on the CPU device: no weights or activations are allocated. The step is traced
twice and the second (steady-state, optimizer state already present) is measured.

The ViT blocks are identical and clips are independent, so within one regime every memory category
is bilinear in (batch, ViT depth): M(b, L) = A + B·b + C·L + D·b·L, and four traces (two batches x
depths 1 and 2) give the four coefficients exactly. A phase's peak is the largest of many moments'
usage, so which moment wins changes with the batch: at batch 1-4 the tiny preset's backward peak is
set by batch-independent buffers, from batch ~8 on by the activations' gradients (a fit through
batches 1 and 2 alone under-predicted batch 2825 by 37%). So two regimes are fitted, batches {1, 2}
and {8, 16}, and a phase's prediction is the larger. Fake tensors allocate nothing, so a trace at
batch 16 costs what one at batch 1 does. The tests check the claim against a third batch size, a
full-depth trace and a trace at the predicted largest batch. Results are cached per model shape, so
a second run costs nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from isltk.config import TrainingConfig
from isltk.models.translator import ModelConfig, SignTranslator, example_batch
from isltk.training.optim import build_optimizer
from isltk.training.step import StepSettings, backward, clip_gradients, forward_objective, optimizer_step

CATEGORIES = ("parameters", "gradients", "optimizer", "activations")
_TRACKER_KEYS = {"parameters": ("Parameter",), "gradients": ("Gradient",), "optimizer": ("Optstate",),
                 "activations": ("Activation", "Temp", "Buffer", "Other")}
CACHE_VERSION = 5  # 5: two batch regimes (small and large batches); 4: the traced step clips gradients


@dataclass
class StepMemory:
    parameters: int
    gradients: int
    optimizer: int
    activations: int  # activations, temporaries, buffers and inputs live at the peak

    @property
    def total(self) -> int:
        return self.parameters + self.gradients + self.optimizer + self.activations


def _global_peak_tracker():  # type: ignore[no-untyped-def]
    """MemTracker without per-module peak bookkeeping (it walks every module on every op; we only
    need the step's global peak, and skipping the walk makes a trace ~2x faster)."""
    from torch.distributed._tools.mem_tracker import _TOTAL_KEY, MemTracker

    class GlobalPeakTracker(MemTracker):
        def _update_peak_stats(self, peak_state) -> None:  # type: ignore[no-untyped-def]
            for dev, snap in self._curr_mem_snap.items():
                if self._peak_mem.get(dev, 0) < snap[_TOTAL_KEY]:
                    self._peak_mem[dev] = snap[_TOTAL_KEY]
                    self._peak_mem_snap[dev] = dict(snap)

    return GlobalPeakTracker()


PHASES = ("forward", "backward", "optimizer_step")


def trace_step(model_cfg: ModelConfig, batch: int, frames: int, amp: bool, grad_checkpointing: bool,
               vit_layers: int | None = None, training: TrainingConfig | None = None) -> StepMemory:
    """Peak memory of one steady-state training step, by category, from a fake-tensor trace."""
    phases = trace_phases(model_cfg, batch, frames, amp, grad_checkpointing, vit_layers, training)
    return max(phases.values(), key=lambda m: m.total)


def trace_phases(model_cfg: ModelConfig, batch: int, frames: int, amp: bool, grad_checkpointing: bool,
                 vit_layers: int | None = None, training: TrainingConfig | None = None) -> dict[str, StepMemory]:
    """The step's peak in each phase (forward, backward, optimizer step), by category.

    Each phase's peak is bilinear in (batch, depth); the step's peak is the largest of the three,
    and which one wins changes with the batch size (small models peak in the optimizer step at
    batch 1 and in the forward pass, at the vocabulary-sized logits, at batch 1000).
    """
    from torch._subclasses.fake_tensor import FakeTensorMode

    if vit_layers is not None:
        model_cfg = model_cfg.model_copy(update={"encoder": model_cfg.encoder.model_copy(update={"vit_num_layers": vit_layers})})
    training = training or TrainingConfig()
    length = model_cfg.decoder.max_length
    with torch.device("meta"):  # built on meta: timm's constructor reads scalars, which fake tensors refuse
        model = SignTranslator(model_cfg)
    with FakeTensorMode(allow_non_fake_inputs=True):
        model.to_empty(device="cpu")  # fake CPU tensors: shapes and dtypes, no memory
        model.set_grad_checkpointing(grad_checkpointing)
        optimizer = build_optimizer(model, training.optimizer, torch.device("cpu"), foreach=True)
        loaded, tokens = example_batch(model_cfg, batch, frames, length)
        video, mask, streams = model.batch_inputs(loaded, "cpu")

        # bf16 and fp16 hold the same bytes; the fp16 grad scaler adds no tensors worth counting
        settings = StepSettings.for_precision(training, model_cfg.decoder.label_smoothing, torch.bfloat16 if amp else None, False)

        for group in optimizer.param_groups:  # the state every step after the first starts with
            for p in group["params"]:
                optimizer.state[p] = {"step": torch.tensor(0.0), "exp_avg": torch.zeros_like(p), "exp_avg_sq": torch.zeros_like(p)}
        tracker = _global_peak_tracker()
        tracker.track_external(model, optimizer)
        peaks = {}

        def close_phase(name: str) -> None:
            peaks[name] = next(iter(tracker.get_tracker_snapshot("peak").values()))
            tracker._peak_mem.clear()  # the next phase's peak starts from the current usage
            tracker._peak_mem_snap.clear()

        with tracker:
            result = forward_objective(model, video, mask, tokens, settings, streams=streams)
            close_phase("forward")
            backward(result, result.tokens, scaler=None)
            del result
            close_phase("backward")
            clip_gradients(model, optimizer, None, settings.max_grad_norm)
            optimizer_step(optimizer, None)
            close_phase("optimizer_step")
    return {phase: StepMemory(**{name: int(sum(peak.get(k, 0) for k in keys)) for name, keys in _TRACKER_KEYS.items()})
            for phase, peak in peaks.items()}


def _bilinear(m11: int, m21: int, m12: int, m22: int, b1: int = 1, b2: int = 2) -> list[float]:
    """Coefficients [A, B, C, D] of A + B*b + C*L + D*b*L through (b, L) = (b1,1), (b2,1), (b1,2), (b2,2)."""
    step = b2 - b1
    d = (m22 - m21 - m12 + m11) / step  # the per-clip cost of one more layer
    b = (m21 - m11) / step - d  # per clip, at depth 0
    c = (m12 - m11) - d * b1  # per layer, at batch 0
    a = m11 - b * b1 - c - d * b1
    return [a, b, c, d]


@dataclass
class MemoryModel:
    """Per regime, phase and category: bytes = A + B*batch + C*layers + D*batch*layers. A phase's peak is the larger
    regime's prediction (the true peak is convex in the batch: the largest of affine usages); the step's is the
    larger phase."""

    regimes: list[dict[str, dict[str, list[float]]]]  # regime -> phase -> category -> [A, B, C, D]
    vit_layers: int

    def phase_at(self, phase: str, batch: int, layers: int | None = None) -> StepMemory:
        layers = self.vit_layers if layers is None else layers
        predictions = [StepMemory(**{k: int(round(a + b * batch + c * layers + d * batch * layers))
                                     for k, (a, b, c, d) in regime[phase].items()}) for regime in self.regimes]
        return max(predictions, key=lambda m: m.total)

    def at(self, batch: int, layers: int | None = None, resident_gradients: bool = False) -> StepMemory:
        """The step's peak. `resident_gradients`: every gradient is held through every phase (DDP's buckets
        persist between steps and `.grad` are views into them), not only from backward to the optimizer step."""
        phases = [self.phase_at(p, batch, layers) for p in PHASES]
        if resident_gradients:
            full = max(m.gradients for m in phases)
            phases = [StepMemory(m.parameters, full, m.optimizer, m.activations) for m in phases]
        return max(phases, key=lambda m: m.total)

    def block_parameter_bytes(self) -> float:
        return self.regimes[0]["optimizer_step"]["parameters"][2]


BATCH_REGIMES = ((1, 2), (8, 16))  # the batches each regime is fitted through (module docstring)


def fit_memory_model(model_cfg: ModelConfig, frames: int, amp: bool, grad_checkpointing: bool) -> MemoryModel:
    regimes = []
    for small, large in BATCH_REGIMES:
        traces = {(b, depth): trace_phases(model_cfg, b, frames, amp, grad_checkpointing, vit_layers=depth)
                  for b in (small, large) for depth in (1, 2)}
        corners = ((small, 1), (large, 1), (small, 2), (large, 2))
        regimes.append({phase: {name: _bilinear(*(getattr(traces[key][phase], name) for key in corners), small, large)
                                for name in CATEGORIES} for phase in PHASES})
    return MemoryModel(regimes, model_cfg.encoder.vit_num_layers)


def _cache_path(key: str) -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "isltk" / "memory"
    return root / f"{key}.json"


def cached_memory_model(model_cfg: ModelConfig, frames: int, amp: bool, grad_checkpointing: bool) -> MemoryModel:
    """fit_memory_model, remembered per model shape / frames / precision / checkpointing / torch version."""
    shape = model_cfg.model_dump(mode="json")
    shape["encoder"].pop("pretrained", None)
    shape["encoder"]["grad_checkpointing"] = grad_checkpointing
    blob = json.dumps([CACHE_VERSION, torch.__version__, shape, frames, amp], sort_keys=True)
    path = _cache_path(hashlib.sha256(blob.encode()).hexdigest()[:24])
    if path.is_file():
        data = json.loads(path.read_text())
        return MemoryModel(data["regimes"], data["vit_layers"])
    fitted = fit_memory_model(model_cfg, frames, amp, grad_checkpointing)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        from isltk.fsutil import atomic_write_json

        atomic_write_json(path, asdict(fitted))
    except OSError:
        pass  # a read-only home only costs the re-trace next time
    return fitted
