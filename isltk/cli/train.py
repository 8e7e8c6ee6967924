"""`isltk train`: train the translator on a prepared cache (single process, or under torchrun)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from isltk.cli.common import ConfigOption, SetOption, fail, handle_errors, read_config, stderr, stdout
from isltk.cli.progress import format_eta, make_training_progress


@handle_errors
def train(
    config: ConfigOption = None,
    set_: SetOption = None,
    resume: Annotated[str | None, typer.Option("--resume", help="A checkpoint or run folder, or 'auto' for the newest valid checkpoint.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Run folder (default: training.runs_dir/<timestamp>).")] = None,
) -> None:
    """Train on data.prepared_dir: AMP, checkpoints, exact resume, validation BLEU; multi-GPU via torchrun.

    Ctrl-C or SIGTERM finishes the current step, saves a checkpoint and exits (130 / 143).
    """
    from isltk.hardware.estimate import length_plan
    from isltk.models.summary import summarize
    from isltk.training.distributed import shutdown_distributed
    from isltk.training.run_folder import CURVES_FILE
    from isltk.training.trainer import (
        Callbacks,
        RunStart,
        StepInfo,
        Trainer,
        TrainingInterrupted,
        ValidationInfo,
    )

    cfg = read_config(config, set_)
    progress = make_training_progress()
    task = progress.add_task("training", total=None, stats="")

    def on_start(info: RunStart) -> None:
        frames = length_plan(cfg).time_frames
        summary = summarize(info.model_config, frames)
        stderr.print(f"run folder {info.run_dir} | device {info.device} x{info.world} | precision {info.amp} | "
                     f"{info.train_clips} train / {info.val_clips} val clips | {info.steps_per_epoch} steps/epoch")
        stderr.print(f"model: {summary.parameters['total'] / 1e6:.3g} M parameters ({_input_parts(summary.parameters)}), "
                     f"{summary.train_gflop_per_clip:.3g} GFLOP per clip of {frames} frames per training step")
        stderr.print(f"supervision: {info.supervision}", highlight=False)
        if info.inputs_choice:
            stderr.print(f"inputs: {info.inputs_choice}", highlight=False)
        if not info.val_clips:
            stderr.print("[yellow]warning:[/] no validation clips: no validation BLEU and no best checkpoint; the newest "
                         "checkpoint is the result (give the CSV a val split or set data.val_fraction)")
        if info.resumed_at_step:
            stderr.print(f"resumed at step {info.resumed_at_step}")
            for change in info.resume_changes:
                stderr.print(f"  changed since the checkpoint, now in force: {change}")
        progress.update(task, total=info.total_steps, completed=info.resumed_at_step)
        progress.start()

    def on_step(step: StepInfo) -> None:
        progress.update(task, completed=step.step, description=f"epoch {step.epoch}",
                        stats=f"loss {step.loss:.3f}  lr {step.lr:.2e}  {step.clips_per_s:.1f} clips/s  ETA {format_eta(step.eta_s)}")

    def on_validation(metrics: ValidationInfo) -> None:
        mark = " (best)" if metrics.best else ""
        progress.console.print(f"epoch {metrics.epoch} step {metrics.step}: val loss {metrics.loss:.3f} nats/token, "
                               f"val BLEU-4 {metrics.bleu4:.2f}{mark}")
        for reference, hypothesis in metrics.examples[:2]:
            progress.console.print(f"    ref: {reference}\n    hyp: {hypothesis}", highlight=False)

    def on_features(done: int, total: int) -> None:
        if done == 1:
            stderr.print(f"frozen backbone (encoder.freeze_epochs=-1): caching per-frame features of {total} clips once")
        progress.update(task, completed=done, total=total, description="caching features")
        if not progress.live.is_started:
            progress.start()
        if done == total:
            progress.stop()

    trainer = None
    try:
        trainer = Trainer(cfg, out, resume, Callbacks(on_start, on_step, on_validation, on_features))
        result = trainer.fit()
    except TrainingInterrupted as stop:
        if progress.live.is_started:
            progress.stop()  # the message goes below the finished bar, not into it
        raise fail(str(stop), 128 + stop.signum) from None
    finally:
        if progress.live.is_started:
            progress.stop()
        shutdown_distributed()
    if trainer is not None and trainer.info.is_main:
        best = result.best_checkpoint
        stop = f"finished at step {result.state.step}{' (early stop)' if result.stopped_early else ''}"
        if best is None:
            stdout.print(f"{stop}; validation never ran (no val clips); newest checkpoint: {result.last_checkpoint}")
        else:
            stdout.print(f"{stop}; best val BLEU-4 {max(result.state.best_bleu, 0):.2f}; best checkpoint: {best}; "
                         f"curves: {result.run_dir / CURVES_FILE}")


_INPUT_PARTS = {"encoder": "ViT", "keypoints": "keypoint encoder", "hands": "hand encoder"}


def _input_parts(parameters: dict[str, int]) -> str:
    """Name the per-frame readers the model has: a pose-only model has no ViT, a hands model has three."""
    return ", ".join(f"{label} {parameters[part] / 1e6:.3g} M" for part, label in _INPUT_PARTS.items() if part in parameters)
