"""`isltk synth`: write the synthetic sign corpus used by the demo and the tests."""

from __future__ import annotations

import functools
import os
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from isltk.cli.common import handle_errors, stdout
from isltk.cli.progress import make_progress


class Style(str, Enum):
    signing = "signing"
    simple = "simple"


@handle_errors
def synth(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write videos/, sentences.csv and README.txt into.")],
    train: Annotated[int, typer.Option(min=1, help="Training clips.")] = 480,
    val: Annotated[int, typer.Option(min=0, help="Validation clips (unseen sentence combinations).")] = 48,
    test: Annotated[int, typer.Option(min=0, help="Test clips (unseen sentence combinations).")] = 48,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed writes the same corpus.")] = 0,
    workers: Annotated[int | None, typer.Option("--workers", "-j", min=1, help="Processes (default all cores).")] = None,
    style: Annotated[Style, typer.Option(help="signing: skin-coloured hands, held greetings, 1-9 signs, unseen signers "
                                         "in val/test; simple: one coloured shape per gloss (easy).")] = Style.signing,
    exact_keypoints: Annotated[bool, typer.Option(help="signing: write the exact drawn keypoints to videos/*.pose "
                                                  "instead of them as a detector reports them (jittered, hands lost "
                                                  "in runs): an upper bound, not a forecast for real hands.")] = False,
) -> None:
    """Write a SYNTHETIC sign corpus: real MPEG-4 videos plus a video,text,split,gloss CSV."""
    from isltk.synth.signing import make_signing_corpus
    from isltk.synth.simple import make_corpus

    if style == Style.signing:
        make = functools.partial(make_signing_corpus, exact_keypoints=exact_keypoints)
    elif exact_keypoints:
        raise typer.BadParameter("--exact-keypoints is for --style signing (the simple corpus has no keypoints)")
    else:
        make = make_corpus
    progress = make_progress("clips")
    task = progress.add_task(f"synthesising ({style.value})", total=train + val + test)
    with progress:
        csv_path = make(out_dir, train, val, test, seed, workers or os.cpu_count() or 1, lambda: progress.advance(task))
    stdout.print(f"synthetic corpus: {train + val + test} clips in {out_dir / 'videos'}, sentences in {csv_path}")
