"""The one training step (isltk/training/step.py) that the trainer, the memory trace and the probe share."""

import torch

from isltk.config import OptimizerConfig, load_config
from isltk.data.tokens import BOS_ID, EOS_ID
from isltk.training.optim import build_optimizer
from isltk.training.step import (
    StepSettings,
    amp_settings,
    backward,
    clip_gradients,
    forward_objective,
    optimizer_step,
)
from tests.conftest import clip_batch, tiny_model


def test_settings_come_from_the_config_and_the_cpu_trains_in_fp32() -> None:
    cfg = load_config("configs/signing.yaml")
    settings = StepSettings.from_config(cfg, torch.device("cpu"))
    assert settings.amp_dtype is None and not settings.needs_scaler and amp_settings(cfg, torch.device("cpu")) == (None, False)
    assert dict(settings.gloss_weights) == {"temporal": 1.0, "frame": 1.0, "memory": 1.0}
    assert settings.max_grad_norm == cfg.training.optimizer.max_grad_norm
    assert settings.motion_dropout == cfg.training.augmentation.motion_dropout


def test_one_step_lowers_the_loss_and_clipping_reports_the_norm_before_it() -> None:
    model = tiny_model().train()
    video, mask = clip_batch(2, 6)
    tokens = torch.tensor([[BOS_ID, 5, 6, EOS_ID], [BOS_ID, 7, EOS_ID, 0]])
    settings = StepSettings(None, False, 0.0, max_grad_norm=1e-3)
    optimizer = build_optimizer(model, OptimizerConfig(encoder_lr=1e-2, learning_rate=1e-2, weight_decay=0.0), video.device)
    torch.manual_seed(0)
    before = forward_objective(model, video, mask, tokens, settings)
    backward(before, before.tokens, scaler=None)
    norm = clip_gradients(model, optimizer, None, settings.max_grad_norm)
    clipped = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in model.parameters() if p.grad is not None]))
    assert norm > 1e-3 and clipped <= 1e-3 * 1.01
    for _ in range(20):
        optimizer_step(optimizer, None)
        torch.manual_seed(0)
        after = forward_objective(model, video, mask, tokens, settings)
        backward(after, after.tokens, scaler=None)
        clip_gradients(model, optimizer, None, 1.0)
    assert any(p.grad is not None for p in model.parameters())  # the last backward left gradients
    optimizer_step(optimizer, None)
    assert all(p.grad is None for p in model.parameters())  # the step frees them
    assert float(after.total.detach() / after.tokens) < float(before.total.detach() / before.tokens)
