"""`isltk translate`: an English sentence for each sign clip."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Annotated

import typer

from isltk.cli.common import handle_errors, read_config, stderr, stdout
from isltk.cli.progress import make_progress
from isltk.config import TrainingConfig, default_config_path


@handle_errors
def translate(
    clips: Annotated[list[str], typer.Argument(help="Video files (.pose files for a pose-only model), folders or globs.")],
    checkpoint: Annotated[Path | None, typer.Option(help="Checkpoint or run folder (default: best of the most recent run).")] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Config whose training.runs_dir holds the runs.")] = None,
    beam: Annotated[int | None, typer.Option(min=1, help="Beam size (default: the checkpoint's inference.beam_size).")] = None,
    alpha: Annotated[float | None, typer.Option(min=0.0, help="Length penalty alpha (default: inference.length_penalty).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per clip: id, path, text, score (log-probability; length-normalised with beam > 1), seconds (its batch's time shared among its clips), warning (empty, or why the clip looks unlike the validation clips).")] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="Clips decoded together.")] = 8,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
) -> None:
    """Translate sign clips with the preprocessing the checkpoint was trained with; exit 1 if any clip failed."""
    from isltk.evaluation.inference import (
        VIDEO_SUFFIXES,
        expand_clips,
        latest_best_checkpoint,
        load_translator,
        translate_clips,
    )

    expand_clips(clips, VIDEO_SUFFIXES | {".pose"})  # a pattern or folder without any clip fails before the model loads
    if checkpoint is None:
        runs_dir = TrainingConfig().runs_dir
        if config is not None or default_config_path().is_file():
            runs_dir = read_config(config, None).training.runs_dir
        checkpoint = latest_best_checkpoint(runs_dir)
        stderr.print(f"using checkpoint {checkpoint}")
    loaded = load_translator(checkpoint, device)
    paths = expand_clips(clips, loaded.clip_suffixes)  # a folder's clips are what the model reads: videos or poses
    beam, alpha = loaded.search_settings(beam, alpha)
    failed = 0
    progress = make_progress("clips")
    task = progress.add_task("translating", total=len(paths))
    with progress if len(paths) > 8 else contextlib.nullcontext():  # a bar only when there are many clips
        for result in translate_clips(loaded, paths, beam, alpha, batch_size):
            progress.advance(task)
            if result.error:
                failed += 1
                stderr.print(f"[red]error:[/] {result.path}: {result.error}", highlight=False)
                if as_json:
                    typer.echo(json.dumps({"id": result.path.stem, "path": str(result.path), "error": result.error}))
                continue
            if as_json:
                typer.echo(json.dumps({"id": result.path.stem, "path": str(result.path), "text": result.text,
                                       "score": round(result.score, 4), "seconds": round(result.seconds, 4),
                                       "warning": result.warning}))
                continue
            stdout.print(f"{result.path.name}\t{result.text}" if len(paths) > 1 else result.text, highlight=False)
            if result.warning:
                stderr.print(f"[yellow]warning:[/] {result.path}: {result.warning}", highlight=False)
    if failed:
        raise typer.Exit(1)
