"""The optimizer and its schedule (isltk/training/optim.py)."""

import pytest
import torch

from isltk.config import OptimizerConfig
from isltk.training.optim import apply_settings, build_optimizer, build_scheduler, lr_factor, parameter_groups
from tests.conftest import tiny_model


def test_two_learning_rates_and_no_weight_decay_on_norms_biases_and_embeddings() -> None:
    model = tiny_model()
    cfg = OptimizerConfig(encoder_lr=1e-4, learning_rate=1e-3, weight_decay=0.05)
    groups = {g["name"]: g for g in parameter_groups(model, cfg)}
    assert set(groups) == {"encoder", "encoder/no_decay", "rest", "rest/no_decay"}
    assert groups["encoder"]["lr"] == 1e-4 and groups["rest"]["lr"] == 1e-3
    assert groups["rest"]["weight_decay"] == 0.05 and groups["rest/no_decay"]["weight_decay"] == 0.0
    names = {id(p): n for n, p in model.named_parameters()}
    undecayed = [names[id(p)] for g in groups.values() if g["weight_decay"] == 0 for p in g["params"]]
    assert "decoder.token_embedding.weight" in undecayed and all(p.ndim > 1 for g in groups.values()
                                                                   if g["weight_decay"] > 0 for p in g["params"])
    assert sum(len(g["params"]) for g in groups.values()) == len(list(model.parameters()))  # each parameter once


def test_warmup_then_cosine_to_zero() -> None:
    assert lr_factor(0, 10, 100) == pytest.approx(0.1)  # the first step already learns
    assert lr_factor(10, 10, 100) == pytest.approx(1.0)
    assert lr_factor(55, 10, 100) == pytest.approx(0.5)
    assert lr_factor(100, 10, 100) == pytest.approx(0.0, abs=1e-12)
    assert lr_factor(1, 500, 10) == pytest.approx(lr_factor(1, 5, 10))  # warm-up never longer than half the run


def test_a_resumed_schedule_continues_where_it_stopped() -> None:
    cfg = OptimizerConfig(learning_rate=1e-3, encoder_lr=1e-3, warmup_steps=3)
    straight = build_optimizer(tiny_model(), cfg, torch.device("cpu"))
    scheduler = build_scheduler(straight, cfg, total_steps=20)
    for _ in range(7):
        straight.step()
        scheduler.step()
    resumed = build_optimizer(tiny_model(), cfg, torch.device("cpu"))
    continued = build_scheduler(resumed, cfg, total_steps=20, start_step=7)
    assert continued.get_last_lr() == pytest.approx(scheduler.get_last_lr())


def test_changed_settings_on_resume_are_applied_and_named() -> None:
    model = tiny_model()
    optimizer = build_optimizer(model, OptimizerConfig(learning_rate=1e-3), torch.device("cpu"))
    build_scheduler(optimizer, OptimizerConfig(learning_rate=1e-3), total_steps=10)
    changes = apply_settings(optimizer, model, OptimizerConfig(learning_rate=1e-4))
    assert "rest: lr 0.001 -> 0.0001" in changes and all("encoder" not in c for c in changes)
    assert apply_settings(optimizer, model, OptimizerConfig(learning_rate=1e-4)) == []


def test_fused_adamw_is_the_cuda_default_and_can_be_turned_off() -> None:
    model = torch.nn.Linear(4, 4)
    cuda = torch.device("cuda")  # only the device type is read; the kernel choice is recorded in the defaults
    assert build_optimizer(model, OptimizerConfig(), cuda).defaults["fused"] is True
    assert not build_optimizer(model, OptimizerConfig(fused=False), cuda).defaults["fused"]
    assert not build_optimizer(model, OptimizerConfig(), torch.device("cpu")).defaults["fused"]
