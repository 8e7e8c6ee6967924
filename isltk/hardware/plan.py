"""What `check-hardware` reports, computed as data: fit on the configured GPU, the largest batch per GPU,
epoch estimates, and (on a CUDA machine) measured steps next to the prediction. The command only renders it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from isltk.config import Config
from isltk.data.inputs import resolve as resolve_inputs
from isltk.hardware.catalog import CATALOG, GPU, find_gpu
from isltk.hardware.estimate import (
    ASSUMED_MFU,
    Breakdown,
    Estimate,
    accumulation_for,
    estimate,
)


@dataclass
class GpuRow:
    """One GPU compared: does the configured batch fit, the largest batch with and without activation
    checkpointing, the batch x accumulation that keeps the configured effective batch, an epoch estimate."""

    gpu: str
    memory_gib: float
    dtype: str  # the autocast dtype training picks there
    fits_configured_batch: bool
    max_batch: int
    max_batch_checkpointing: int
    per_gpu_batch: int
    accumulation_steps: int  # 0: not even batch 1 fits
    epoch_hours_estimate: float
    peak_tflops: float


@dataclass
class ProbeComparison:
    """Real steps on this machine's GPU next to the trace's prediction."""

    batch: int  # the batch measured at: the configured one, or the largest that fits if smaller
    measured_peak_bytes: int
    measured_peak_reserved_bytes: int
    measured_outside_allocator_bytes: int
    predicted_bytes: int
    error_percent: float | None
    step_seconds: float
    measured_max_batch: int
    predicted_max_batch: int
    trials: list[dict[str, Any]]


@dataclass
class HardwarePlan:
    estimate: Estimate
    own: GPU  # the config's hardware.gpu
    breakdown: Breakdown  # at the configured batch on `own`
    fits: bool
    rows: list[GpuRow]  # one per GPU compared
    facts: dict[str, Any]  # everything above, JSON-ready
    config: Config  # the config planned: data.keypoints auto resolved once (isltk.data.inputs), for the probe too


def plan_hardware(cfg: Config, gpu_names: list[str] | None = None) -> HardwarePlan:
    resolved = resolve_inputs(cfg)  # before prepare this reads the CSV and stats every .pose file: once, here
    cfg = resolved.config
    own = find_gpu(cfg.hardware.gpu)
    others = [find_gpu(n) for n in gpu_names] if gpu_names else list(CATALOG.values())
    gpus = [own] + [g for g in others if g != own]
    est = estimate(cfg)
    batch, ckpt_on = cfg.training.batch_size, cfg.encoder.grad_checkpointing
    breakdown = est.breakdown(batch, ckpt_on)
    fits = breakdown.total <= own.memory_bytes
    rows = []
    for g in gpus:
        plain, ckpt = est.max_batch(g, False), est.max_batch(g, True)
        per_gpu, steps = accumulation_for(batch, ckpt if not plain else plain)
        rows.append(GpuRow(g.name, g.memory_gib, g.amp_dtype, est.fits(g, batch, ckpt_on), plain, ckpt, per_gpu, steps,
                           round(est.epoch_hours(g, est.lengths.clips, ckpt_on or not plain), 3), g.peak_tflops))
    facts = {
        "config_gpu": own.name, "batch_per_gpu": batch, "frames": est.lengths.memory_frames, "mean_frames": est.lengths.time_frames,
        "lengths_from": est.lengths.source, "inputs": resolved.line, "image_size": cfg.data.image_size,
        "num_gpus": cfg.hardware.num_gpus, "activation_checkpointing": ckpt_on, "fits": fits,
        "parameters": est.parameters, "train_gflop_per_clip": round(est.train_gflop_per_clip, 2),
        "memory_bytes": breakdown.lines, "total_bytes": breakdown.total, "gpus": [asdict(r) for r in rows],
        "epoch_estimate": {"clips": est.lengths.clips, "assumed_mfu": ASSUMED_MFU, "note": "an estimate, not a measurement"},
    }
    return HardwarePlan(est, own, breakdown, fits, rows, facts, cfg)


def probe_against_prediction(cfg: Config, plan: HardwarePlan) -> ProbeComparison:
    """Real steps on this machine's GPU: the largest batch found by bisection and the peak at the configured batch,
    each next to what the trace predicted."""
    from isltk.hardware.probe import probe_batch, probe_max_batch

    est, ckpt_on = plan.estimate, cfg.encoder.grad_checkpointing
    predicted_max = est.max_batch(plan.own, ckpt_on)
    measured_max, trials = probe_max_batch(cfg, ckpt_on, predicted_max)
    at = probe_batch(cfg, max(1, min(cfg.training.batch_size, measured_max)), ckpt_on)
    predicted = est.breakdown(at.batch, ckpt_on).total
    error = 100.0 * (predicted - at.peak_device) / at.peak_device if at.peak_device else None
    return ProbeComparison(at.batch, at.peak_device, at.peak_reserved, at.outside_allocator, predicted, error, at.step_seconds,
                           measured_max, predicted_max, [asdict(t) for t in trials])
