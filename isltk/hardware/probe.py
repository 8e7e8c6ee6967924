"""Measure on a real CUDA GPU: run real training steps and bisect the largest batch that fits.

Each batch size runs in a fresh subprocess-free context: the caching allocator is emptied and its
peak statistics reset before, and `torch.cuda.max_memory_reserved` read after, two full training
steps (forward, backward, AdamW step) with the configured autocast dtype.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from isltk.config import Config
from isltk.errors import IsltkError
from isltk.hardware.estimate import largest_batch, length_plan
from isltk.models.spec import model_config
from isltk.models.translator import ModelConfig, SignTranslator, example_batch
from isltk.training.optim import build_optimizer
from isltk.training.step import StepSettings, backward, clip_gradients, forward_objective, optimizer_step


@dataclass
class ProbeResult:
    batch: int
    fits: bool
    peak_reserved: int = 0  # PyTorch's caching allocator at its peak
    step_seconds: float = 0.0
    outside_allocator: int = 0  # device memory in use outside the allocator (CUDA context, cuBLAS handles...)

    @property
    def peak_device(self) -> int:
        """What the GPU had in use at the peak: comparable with the prediction, which includes the CUDA context."""
        return self.peak_reserved + self.outside_allocator


def probe_batch(config: Config, batch: int, checkpointing: bool, model_cfg: ModelConfig | None = None) -> ProbeResult:
    """Real training steps at `batch` (model_cfg: `model_config(config)`, built once by a caller that probes many)."""
    if not torch.cuda.is_available():
        raise IsltkError("--probe needs a CUDA GPU; without one, the traced prediction is all there is")
    device = torch.device("cuda")
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    torch.cuda.init()
    free, total = torch.cuda.mem_get_info()
    outside = total - free - torch.cuda.memory_reserved()  # the context and anything else not from the allocator
    model_cfg = model_cfg or model_config(config)
    settings = StepSettings.from_config(config, device)  # the precision training would pick, not a re-decision
    model = optimizer = None
    try:
        model = SignTranslator(model_cfg).to(device)
        model.set_grad_checkpointing(checkpointing)
        optimizer = build_optimizer(model, config.training.optimizer, device)
        scaler = torch.amp.GradScaler("cuda") if settings.needs_scaler else None
        frames, length = length_plan(config).memory_frames, config.decoder.max_length
        loaded, tokens = example_batch(model_cfg, batch, frames, length, device)
        video, mask, streams = model.batch_inputs(loaded, device)
        timings = []
        for _ in range(3):
            torch.cuda.synchronize()
            start = time.perf_counter()
            result = forward_objective(model, video, mask, tokens, settings, streams=streams)
            backward(result, result.tokens, scaler)
            clip_gradients(model, optimizer, scaler, settings.max_grad_norm)
            optimizer_step(optimizer, scaler)
            torch.cuda.synchronize()
            timings.append(time.perf_counter() - start)
        return ProbeResult(batch, True, torch.cuda.max_memory_reserved(), min(timings[1:]), outside)
    except torch.cuda.OutOfMemoryError:
        return ProbeResult(batch, False)
    finally:
        del model, optimizer
        torch.cuda.empty_cache()


def probe_max_batch(config: Config, checkpointing: bool, start: int) -> tuple[int, list[ProbeResult]]:
    """Bisect around the predicted maximum `start`: the largest batch that completes real steps."""
    results: list[ProbeResult] = []
    model_cfg = model_config(config)

    def fits(batch: int) -> bool:
        result = probe_batch(config, batch, checkpointing, model_cfg)
        results.append(result)
        return result.fits

    return largest_batch(fits, start), results
