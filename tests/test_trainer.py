"""Training: exact resume, real kills, SIGTERM, NaN halt, DDP on gloo, and learning."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from safetensors.torch import load_file

from isltk.data import cache
from isltk.data.prepare import prepare_cache
from isltk.synth.simple import make_corpus
from isltk.training import checkpoint as ckpt
from isltk.training import run_folder
from isltk.training.trainer import NonFiniteLossError, Trainer
from tests.conftest import MICRO, micro_config


@pytest.fixture(scope="module")
def corpus_dir(simple_corpus: Path) -> Path:
    return simple_corpus


def write_yaml(cfg, path: Path) -> Path:
    path.write_text(yaml.safe_dump(cfg.model_dump(mode="json")))
    return path


def final_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(str(ckpt.list_checkpoints(run_dir / "checkpoints")[-1] / "model.safetensors"))


def train_losses(run_dir: Path) -> list[float]:
    rows = [json.loads(line) for line in (run_dir / run_folder.METRICS_FILE).read_text().splitlines()]
    return [r["loss"] for r in rows if r["kind"] == "train"]


def test_resume_mid_epoch_matches_uninterrupted_run(corpus_dir: Path, tmp_path: Path) -> None:
    # 6 steps per epoch: stop at step 4 (mid-epoch), resume to step 10
    settings = {"num_workers": 1}
    Trainer(micro_config(corpus_dir, tmp_path, max_steps=10, **settings), tmp_path / "straight").fit()
    Trainer(micro_config(corpus_dir, tmp_path, max_steps=4, **settings), tmp_path / "resumed").fit()
    result = Trainer(micro_config(corpus_dir, tmp_path, max_steps=10, **settings), tmp_path / "resumed", resume="auto").fit()
    assert result.state.step == 10
    straight, resumed = final_weights(tmp_path / "straight"), final_weights(tmp_path / "resumed")
    worst = max(float((straight[k] - resumed[k]).abs().max()) for k in straight)
    assert worst <= 1e-6, f"max weight difference {worst}"
    a, b = train_losses(tmp_path / "straight"), train_losses(tmp_path / "resumed")
    assert a[-1] == pytest.approx(b[-1], abs=1e-6) and len(b) == 10


def test_a_run_stopped_before_naming_its_best_names_one_after_resume(corpus_dir: Path, tmp_path: Path) -> None:
    """Killed between saving a validated checkpoint and writing best.json: a resumed validation that only ties
    the stored best BLEU must still name a best checkpoint (it used to leave the run without one)."""
    from isltk.training.checkpoint import best_checkpoint

    Trainer(micro_config(corpus_dir, tmp_path, max_steps=6), tmp_path / "run").fit()
    checkpoints = tmp_path / "run" / "checkpoints"
    (checkpoints / run_folder.BEST_FILE).unlink()
    result = Trainer(micro_config(corpus_dir, tmp_path, max_steps=12), tmp_path / "run", resume="auto").fit()
    assert result.state.step == 12 and best_checkpoint(checkpoints) is not None


def test_resume_follows_a_changed_learning_rate_and_says_so(corpus_dir: Path, tmp_path: Path) -> None:
    from isltk.training.optim import lr_factor

    Trainer(micro_config(corpus_dir, tmp_path, max_steps=4), tmp_path / "run").fit()
    lower = micro_config(corpus_dir, tmp_path, max_steps=6, optimizer={"learning_rate": 1e-4})
    trainer = Trainer(lower, tmp_path / "run", resume="auto")
    assert "rest: lr 0.001 -> 0.0001" in trainer.resume_changes
    trainer.fit()
    rows = [json.loads(line) for line in (tmp_path / "run" / run_folder.METRICS_FILE).read_text().splitlines()]
    logged = {r["step"]: r["lr"] for r in rows if r["kind"] == "train"}
    total = trainer.total_steps
    assert logged[4] == pytest.approx(1e-3 * lr_factor(4, 2, total))  # before: the old rate
    assert logged[5] == pytest.approx(1e-4 * lr_factor(5, 2, total)) and logged[6] == pytest.approx(1e-4 * lr_factor(6, 2, total))


def test_bf16_autocast_path_trains(corpus_dir: Path, tmp_path: Path) -> None:
    """The mixed-precision code path (bf16 autocast, as on Ampere+ GPUs) runs on CPU too."""
    import dataclasses

    trainer = Trainer(micro_config(corpus_dir, tmp_path, max_steps=3, use_amp=True), tmp_path / "amp")
    assert trainer.step_settings.amp_dtype is None  # CPU trains in fp32 ...
    trainer.step_settings = dataclasses.replace(trainer.step_settings, amp_dtype=torch.bfloat16)  # ... the GPU path here
    assert not trainer.scaler.is_enabled()
    result = trainer.fit()
    losses = train_losses(tmp_path / "amp")
    assert result.state.step == 3 and all(loss == loss and loss < 20 for loss in losses)


def test_nan_halts_before_the_weights_change(corpus_dir: Path, tmp_path: Path) -> None:
    trainer = Trainer(micro_config(corpus_dir, tmp_path), tmp_path / "nan")
    calls = {"n": 0}
    snapshot = {}

    def poison(module, inputs, output):  # a real forward hook: the 3rd step's logits become NaN
        calls["n"] += 1
        if calls["n"] == 3:
            snapshot.update({k: v.clone() for k, v in trainer.model.state_dict().items()})
            return output * float("nan")
        return output

    trainer.model.decoder.register_forward_hook(poison)
    with pytest.raises(NonFiniteLossError, match=r"step 3 .*loss is nan.*weights unchanged.*max_grad_norm"):
        trainer.fit()
    for key, value in trainer.model.state_dict().items():
        assert torch.equal(value, snapshot[key]), key


def _launch(config_path: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "isltk", "train", "-c", str(config_path), "--out", str(out), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(predicate, timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


def test_sigterm_saves_a_checkpoint_and_exits_cleanly(corpus_dir: Path, tmp_path: Path) -> None:
    config_path = write_yaml(micro_config(corpus_dir, tmp_path, num_epochs=50), tmp_path / "c.yaml")
    out = tmp_path / "term"
    process = _launch(config_path, out)
    _wait_for(lambda: (out / run_folder.METRICS_FILE).is_file() and len(train_losses(out)) >= 3)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert "SIGTERM" in stderr and "--resume auto" in stderr and "Traceback" not in stderr
    saved = ckpt.list_checkpoints(out / "checkpoints")
    assert saved and ckpt.read_meta(saved[-1])["step"] == len(train_losses(out))


def test_sigkill_mid_run_then_resume_finishes_with_valid_checkpoints(corpus_dir: Path, tmp_path: Path) -> None:
    config_path = write_yaml(micro_config(corpus_dir, tmp_path, num_epochs=4, checkpoints={"every_steps": 1, "keep": 2}),
                             tmp_path / "c.yaml")
    out = tmp_path / "kill"
    process = _launch(config_path, out)
    _wait_for(lambda: len(ckpt.list_checkpoints(out / "checkpoints")) >= 2)
    time.sleep(0.05)  # saves happen every step: the kill often lands inside one
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    # an interrupted save never counts: also plant one with a higher step and no commit marker
    fake = out / "checkpoints" / "ckpt-99999999"
    fake.mkdir()
    (fake / "model.safetensors").write_bytes(b"half written")
    assert ckpt.list_checkpoints(out / "checkpoints")[-1].name != fake.name
    resumed = _launch(config_path, out, "--resume", "auto")
    _, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr
    assert "resumed at step" in stderr
    checkpoints = ckpt.list_checkpoints(out / "checkpoints")
    assert ckpt.read_meta(checkpoints[-1])["step"] == 24  # 4 epochs x 6 steps
    for path in checkpoints:
        load_file(str(path / "model.safetensors"))
        ckpt.load_train_state(path)


@pytest.mark.parametrize("strategy", ["ddp", "fsdp"])
def test_two_processes_match_one_process_with_the_same_global_batch(corpus_dir: Path, tmp_path: Path, strategy: str) -> None:
    """gloo on CPU: 2 ranks x 2 clips == 1 rank x 4 clips. FSDP2 also stops at step 2 and resumes
    from its gathered checkpoint, so its sharded save/load path is part of the comparison."""
    no_dropout = {"temporal": {**MICRO["temporal"], "dropout": 0.0}, "decoder": {**MICRO["decoder"], "dropout": 0.0}}
    raw = micro_config(corpus_dir, tmp_path, max_steps=4).model_dump(mode="json")
    raw.update(no_dropout)
    single = tmp_path / "single.yaml"
    single.write_text(yaml.safe_dump(raw))
    raw["training"].update(batch_size=2, distributed=strategy)
    double = tmp_path / "double.yaml"
    double.write_text(yaml.safe_dump(raw))
    subprocess.run([sys.executable, "-m", "isltk", "train", "-c", str(single), "--out", str(tmp_path / "one")],
                   check=True, capture_output=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    launch = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port", "29517",
              "-m", "isltk", "train", "-c", str(double), "--out", str(tmp_path / "two")]
    stages = [["--set", "training.max_steps=2"], ["--resume", "auto"]] if strategy == "fsdp" else [[]]
    for extra in stages:
        launched = subprocess.run(launch + extra, capture_output=True, text=True, env=env)
        assert launched.returncode == 0, launched.stderr[-3000:]
    losses_one, losses_two = train_losses(tmp_path / "one"), train_losses(tmp_path / "two")
    # same data, same global-token loss: float noise of summing in another order measured up to 1.2e-5 relative
    # (on this machine's CPU, step 4); a real mismatch moves the losses at the 1e-3 level
    assert losses_one == pytest.approx(losses_two, rel=1e-4, abs=1e-4)
    one, two = final_weights(tmp_path / "one"), final_weights(tmp_path / "two")
    assert one.keys() == two.keys()
    # Batch statistics of the frame-feature normalisation are summed over ranks (as SyncBatchNorm does), in
    # another order than one process sums them: float noise of ~1e-7 that Adam's g/sqrt(v) enlarges over 4
    # steps to ~1e-4 in a few weights (measured max 1.3e-4). A real mismatch (other data, unsynced
    # statistics) moves the losses above at the 1e-3 level and the weights by lr-sized steps (1e-3).
    # Single elements whose gradient is float noise (a dead unit, a key bias the softmax ignores) can move by
    # an lr-sized step of random sign (measured: 2 of 2048 elements of one MLP weight, 9.5e-4). A real
    # mismatch (other data, unsynced gradients or statistics) moves most elements of most tensors.
    zero_gradient = {k for k in one if k.endswith(("in_proj_bias", "qkv.bias", "running_mean")) or k == "encoder.vit.norm.bias"}
    moved = {k: float(((one[k] - two[k]).abs() > 5e-4).float().mean()) for k in one if k not in zero_gradient}
    assert max(moved.values()) <= 0.005, sorted(moved.items(), key=lambda item: -item[1])[:5]
    assert sum(v > 0 for v in moved.values()) <= 0.1 * len(moved)


def test_tiny_preset_learns_unseen_sentences(tmp_path: Path) -> None:
    """The CI-sized version of `make demo`: clear learning on held-out sentence combinations."""
    make_corpus(tmp_path, train_clips=480, val_clips=48, test_clips=0, seed=21, workers=2)
    config_path = Path(__file__).resolve().parents[1] / "configs" / "tiny.yaml"
    overrides = [f"data.video_dir={tmp_path / 'videos'}", f"data.csv_path={tmp_path / 'sentences.csv'}",
                 f"data.prepared_dir={tmp_path / 'prepared'}", "training.total_steps=420", "training.checkpoints.val_every_epochs=100",
                 f"training.runs_dir={tmp_path / 'runs'}"]
    from isltk.config import load_config

    cfg = load_config(config_path, overrides)
    prepare_cache(cfg, workers=2)
    result = Trainer(cfg, tmp_path / "run").fit()
    untrained_level = 10.0  # an input-blind decoder scores ~2-9 BLEU-4 here (language prior only)
    assert result.state.best_bleu > 35.0 > untrained_level, result.state.best_bleu
    assert (tmp_path / "run" / "curves.png").stat().st_size > 1000


def test_frozen_backbone_trains_from_cached_features(corpus_dir: Path, tmp_path: Path) -> None:
    """encoder.freeze_epochs=-1: features computed once, ViT untouched, the rest learns; a re-run reuses them."""
    from isltk.data.cache import FEATURES_DIR
    from isltk.training.features import COMPLETE

    def config(max_steps: int):
        cfg = micro_config(corpus_dir, tmp_path, max_steps=max_steps)
        cfg.encoder.freeze_epochs = -1
        return cfg

    trainer = Trainer(config(4), tmp_path / "frozen")
    vit_before = {k: v.clone() for k, v in trainer.model.encoder.state_dict().items()}
    folders = list((corpus_dir / "prepared" / FEATURES_DIR).iterdir())
    assert len(folders) == 1 and (folders[0] / COMPLETE).is_file()
    record = trainer.train_set.records[0]
    cached = torch.from_numpy(np.load(folders[0] / f"{record['key']}.npy")).float()
    frames = torch.from_numpy(np.load(cache.clips_dir(corpus_dir / "prepared") / f"{record['key']}.npy"))[None]
    with torch.no_grad():
        trainer.model.eval()
        direct = trainer.model.encoder(trainer.model.normalize(frames), torch.ones(frames.shape[:2], dtype=torch.bool))[0]
    torch.testing.assert_close(cached, direct, atol=2e-2, rtol=2e-2)  # fp16 storage
    assert trainer.train_set[0][0].dtype == torch.float16
    decoder_before = trainer.model.decoder.norm.weight.clone()
    result = trainer.fit()
    assert result.state.step == 4
    for key, value in trainer.model.encoder.state_dict().items():
        assert torch.equal(value, vit_before[key]), key
    assert not torch.equal(trainer.model.decoder.norm.weight, decoder_before)
    stamp = (folders[0] / COMPLETE).stat().st_mtime_ns
    Trainer(config(2), tmp_path / "again").fit()
    assert (folders[0] / COMPLETE).stat().st_mtime_ns == stamp  # reused, not recomputed


def test_emulated_bf16_gpus_train_in_fp16_with_a_scaler(monkeypatch: pytest.MonkeyPatch, corpus_dir: Path, tmp_path: Path) -> None:
    """V100/T4/Turing: torch.cuda.is_bf16_supported() says True by default (emulation); they must get fp16."""
    from isltk.training.step import amp_settings

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: including_emulation)
    cfg = micro_config(corpus_dir, tmp_path, use_amp=True)
    assert amp_settings(cfg, torch.device("cuda")) == (torch.float16, True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)  # A100, H100
    assert amp_settings(cfg, torch.device("cuda")) == (torch.bfloat16, False)


def test_fp16_under_fsdp_uses_the_sharded_grad_scaler() -> None:
    """FSDP ranks hold different gradient shards: only ShardedGradScaler agrees on inf/NaN across them."""
    from torch.distributed.fsdp.sharded_grad_scaler import ShardedGradScaler

    from isltk.training.step import StepSettings, make_grad_scaler

    fp16 = StepSettings(torch.float16, True, 0.1, 1.0)
    assert isinstance(make_grad_scaler(fp16, torch.device("cuda"), sharded=True), ShardedGradScaler)
    assert not isinstance(make_grad_scaler(fp16, torch.device("cuda"), sharded=False), ShardedGradScaler)
    bf16 = StepSettings(torch.bfloat16, False, 0.1, 1.0)
    assert not make_grad_scaler(bf16, torch.device("cpu"), sharded=True).is_enabled()


def test_fsdp_gathers_in_the_compute_dtype_and_reduces_in_fp32() -> None:
    from isltk.training.distributed import fsdp_mixed_precision

    policy = fsdp_mixed_precision(torch.bfloat16)
    assert policy.param_dtype == torch.bfloat16 and policy.reduce_dtype == torch.float32
    assert fsdp_mixed_precision(None) is None


def test_a_run_folder_is_never_started_over_nor_shared(corpus_dir: Path, tmp_path: Path) -> None:
    from isltk.errors import IsltkError
    from isltk.fsutil import FolderLock

    Trainer(micro_config(corpus_dir, tmp_path, max_steps=2), tmp_path / "run").fit()
    before = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir())
    with pytest.raises(IsltkError, match="already holds a training run; continue it with --resume auto"):
        Trainer(micro_config(corpus_dir, tmp_path, max_steps=2), tmp_path / "run")
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == before  # nothing pruned
    holder = FolderLock(tmp_path / "busy", "train")  # another training writing there now
    try:
        with pytest.raises(IsltkError, match=r"busy: in use by isltk train \(pid \d+\)"):
            Trainer(micro_config(corpus_dir, tmp_path, max_steps=2), tmp_path / "busy")
    finally:
        holder.release()
    missing = micro_config(corpus_dir, tmp_path, max_steps=2)
    missing.data.prepared_dir = tmp_path / "not-prepared"
    with pytest.raises(IsltkError):
        Trainer(missing, tmp_path / "new-run")  # fails before training: the folder it made is gone again
    assert not (tmp_path / "new-run").exists()
    (tmp_path / "mine").mkdir()
    with pytest.raises(IsltkError):
        Trainer(missing, tmp_path / "mine")
    assert (tmp_path / "mine").is_dir()  # a folder the user made is never deleted


def test_loader_workers_survive_opencv_work_in_the_parent(corpus_dir: Path, tmp_path: Path) -> None:
    """A large resize in the parent starts OpenCV's thread pool, which a forked loader worker cannot use (it hung
    and was killed): the trainer leaves no pool to inherit."""
    import cv2
    import numpy as np

    cv2.resize(np.zeros((600, 512, 3), np.uint8), (640, 480))
    result = Trainer(micro_config(corpus_dir, tmp_path, max_steps=2, num_workers=1), tmp_path / "run").fit()
    assert result.state.step == 2
