import json
import os
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from isltk.cli.app import app
from isltk.config import Config
from isltk.hardware.catalog import CATALOG, find_gpu
from isltk.hardware.estimate import estimate
from isltk.hardware.memory import fit_memory_model, trace_step
from isltk.models.presets import preset_config, preset_model_config
from isltk.models.translator import ModelConfig

runner = CliRunner()


def small_vit(layers: int = 4) -> ModelConfig:
    cfg = preset_model_config("tiny", vocab_size=100)
    return cfg.model_copy(update={"encoder": cfg.encoder.model_copy(update={"vit_num_layers": layers})})


@pytest.mark.parametrize("checkpointing", [False, True])
def test_memory_is_affine_in_batch_and_depth(checkpointing: bool) -> None:
    cfg = small_vit(layers=5)
    model = fit_memory_model(cfg, frames=8, amp=True, grad_checkpointing=checkpointing)
    third_batch = trace_step(cfg, 3, 8, True, checkpointing, vit_layers=1)  # a batch the fit never saw
    assert third_batch == model.at(3, layers=1)
    full_depth = trace_step(cfg, 2, 8, True, checkpointing)  # all 5 blocks, never traced by the fit
    assert full_depth == model.at(2)


def test_breakdown_sums_to_total() -> None:
    est = estimate(preset_config("tiny"))
    breakdown = est.breakdown(16, False)
    assert breakdown.total == sum(breakdown.lines.values())
    step = est.step_memory(16, False)
    assert breakdown.lines["weights"] + breakdown.lines["gradients"] + breakdown.lines["optimizer state (AdamW)"] \
        + breakdown.lines["activations"] == step.total


def test_prediction_matches_a_full_trace_at_the_predicted_max_batch() -> None:
    cfg = preset_config("tiny")
    est = estimate(cfg)
    gpu = find_gpu("T4")
    batch = est.max_batch(gpu, False)
    assert batch > 16
    measured = trace_step(ModelConfig.from_config(cfg, 8000, 0), batch, cfg.data.num_frames, True, False)
    predicted = est.step_memory(batch, False)
    assert abs(predicted.total - measured.total) <= 0.10 * measured.total
    assert est.fits(gpu, batch, False) and not est.fits(gpu, batch + 1, False)


def test_obvious_misfit_exits_nonzero(tmp_path) -> None:
    raw = preset_config("tiny").model_dump(mode="json")
    raw["training"]["batch_size"] = 1_000_000
    raw["hardware"]["gpu"] = "T4"
    path = tmp_path / "huge.yaml"
    path.write_text(yaml.safe_dump(raw))
    result = runner.invoke(app, ["check-hardware", "--config", str(path), "--json", "--gpu", "H200"])
    assert result.exit_code == 1
    facts = json.loads(result.stdout)
    assert facts["fits"] is False and facts["gpus"][0]["gpu"] == "T4" and facts["gpus"][1]["gpu"] == "H200"
    assert facts["total_bytes"] == sum(facts["memory_bytes"].values())


def test_seed_dense_vit_at_batch_16_does_not_fit_a100_40gb() -> None:
    est = estimate(Config())
    assert not est.fits(find_gpu("A100-40GB"), 16, False)
    assert est.fits(find_gpu("A100-40GB"), 16, True)  # per-block activation checkpointing makes it fit


def test_catalogue_entries() -> None:
    required = {"A100-40GB", "A100-80GB", "H100-80GB", "H200", "L40S", "A6000", "RTX-6000-Ada", "Quadro-RTX-6000",
                "V100-16GB", "V100-32GB", "RTX-3090", "RTX-4090", "T4"}
    assert required <= set(CATALOG)
    for gpu in CATALOG.values():
        assert 8 <= gpu.memory_gib <= 200 and 10 <= gpu.peak_tflops <= 2000
        assert gpu.bf16 == (gpu.architecture not in ("Turing", "Volta"))  # no bf16 before Ampere
    assert find_gpu("a100 40gb") is CATALOG["A100-40GB"]
    assert CATALOG["Quadro-RTX-6000"].amp_dtype == "fp16"


def test_plans_with_the_prepared_corpus_lengths(tmp_path: Path) -> None:
    from isltk.config import validate_config
    from isltk.data import cache
    from isltk.hardware.estimate import length_plan

    def config(**data):
        return validate_config({"data": {"prepared_dir": str(tmp_path), **data}, "training": {"batch_size": 4}}, "test")

    assert length_plan(config(num_frames=12)).memory_frames == 12  # fixed count
    unprepared = length_plan(config(sample_fps=10, max_frames=80))
    assert (unprepared.memory_frames, unprepared.time_frames) == (80, 80) and "max_frames" in unprepared.source
    records = [{"id": str(i), "split": split, "frames": n} for i, (split, n) in enumerate([("train", 10), ("train", 20), ("train", 60), ("test", 90)])]
    (tmp_path / cache.MANIFEST_FILE).write_text(cache.manifest_text(records))
    (tmp_path / cache.SUMMARY_FILE).write_text(json.dumps({"format": cache.CACHE_FORMAT}))
    plan = length_plan(config(sample_fps=10, max_frames=80))
    assert (plan.memory_frames, plan.time_frames, plan.clips) == (60, 30, 3) and "prepared corpus" in plan.source


def test_multi_gpu_memory_counts_ddp_buckets_and_the_fsdp_root_unit() -> None:
    cfg = preset_config("tiny")
    cfg.hardware.num_gpus = 2
    ddp = estimate(cfg)
    parameters = ddp.parameters["total"]
    gradients = ddp.breakdown(4, False).lines["gradients (DDP buckets: held all step)"]
    assert gradients == pytest.approx(4 * parameters, rel=0.02)  # fp32 buckets for every weight, all step long
    cfg.training.distributed = "fsdp"
    fsdp = estimate(cfg).breakdown(4, False).lines
    root = fsdp["FSDP root unit, all-gathered (non-ViT-block weights)"]
    assert 0 < root < 4 * parameters / 2


def test_epoch_time_counts_the_recomputed_forward_of_activation_checkpointing() -> None:
    est = estimate(preset_config("tiny"))
    gpu = find_gpu("A100-40GB")
    ratio = est.epoch_hours(gpu, 1000, checkpointing=True) / est.epoch_hours(gpu, 1000)
    # a training step is ~3 forwards' worth (backward ~2x forward); checkpointing runs one forward more: ~4/3
    assert ratio == pytest.approx(4 / 3, rel=0.06)


def test_piped_check_hardware_prints_whole_tables(tmp_path: Path) -> None:
    """Into a pipe or a file, rich assumed 80 columns and cut table cells short with '…'."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "isltk", "check-hardware", "--config", "configs/signing.yaml",
                             "--set", f"data.prepared_dir={tmp_path / 'none'}"], capture_output=True, text=True,
                            env={k: v for k, v in os.environ.items() if k != "COLUMNS"}, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "…" not in result.stdout and "RTX-3090" in result.stdout
