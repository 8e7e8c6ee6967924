"""`isltk evaluate`: BLEU-1..4, chrF and ROUGE-L of a checkpoint on a prepared split, with signatures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from isltk.cli.common import handle_errors, stderr, stdout
from isltk.cli.progress import make_progress

CheckpointArg = Annotated[Path, typer.Option("--checkpoint", help="A ckpt-XXXXXXXX folder or a run folder (its best checkpoint).")]


@handle_errors
def evaluate(
    checkpoint: CheckpointArg,
    split: Annotated[str, typer.Option(help="Prepared split to score: train, val or test.")] = "test",
    beam: Annotated[int | None, typer.Option(min=1, help="Beam size (default: the checkpoint's inference.beam_size).")] = None,
    alpha: Annotated[float | None, typer.Option(min=0.0, help="GNMT length penalty alpha (default: inference.length_penalty).")] = None,
    out: Annotated[Path | None, typer.Option(help="Folder for hypotheses/references/clips.jsonl/metrics.json.")] = None,
    prepared_dir: Annotated[Path | None, typer.Option(help="Prepared cache (default: the one the checkpoint was trained on).")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Clips decoded together.")] = 16,
    sweep: Annotated[bool, typer.Option("--sweep", help="Try beam sizes x length penalties on the val split; report the best pair.")] = False,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    report: Annotated[bool, typer.Option("--report", help="Also write report.html (worst clips first, with frames).")] = False,
    lowercase: Annotated[bool | None, typer.Option("--lowercase/--cased", help="Score case-insensitively (signature case:lc) or "
                                                   "case-sensitively; default: lower-cased when the model's vocabulary is (data.lowercase).",
                                                   show_default=False)] = None,
) -> None:
    """Decode a prepared split and report corpus scores, each with its sacrebleu signature.

    Writes hypotheses.txt (detokenised) and references.txt (the CSV's sentences as written), one per line:
    `sacrebleu references.txt -i hypotheses.txt` (add `-lc` when the signature says case:lc) reproduces
    BLEU; clips.jsonl (id, reference, hypothesis, sentence BLEU) and metrics.json.
    """
    from isltk.evaluation.evaluate import SWEEP_ALPHAS, SWEEP_BEAMS, evaluate_split, sweep_split
    from isltk.evaluation.inference import load_translator
    from isltk.training.run_folder import eval_dir, run_dir_of

    loaded = load_translator(checkpoint, device)
    stderr.print(f"checkpoint {loaded.path}")
    if sweep:
        result = sweep_split(loaded, "val", SWEEP_BEAMS, SWEEP_ALPHAS, batch_size, prepared_dir)
        table = Table(title="val BLEU-4 by beam size and length penalty")
        for column in ("beam", "alpha", "BLEU-4"):
            table.add_column(column, justify="right")
        for b, a, score in result.table:
            table.add_row(str(b), f"{a:.1f}", f"{score:.2f}")
        stdout.print(table)
        stdout.print(f"best on val: --beam {result.best_beam} --alpha {result.best_alpha} (BLEU-4 {result.best_bleu:.2f}); use them on test")
        return
    beam, alpha = loaded.search_settings(beam, alpha)
    out = out or eval_dir(run_dir_of(loaded.path), split, beam)
    progress = make_progress("clips")
    task = progress.add_task(f"decoding {split}", total=None)
    with progress:
        result = evaluate_split(loaded, split, beam, alpha, out, batch_size, prepared_dir, lambda n: progress.advance(task, n),
                                lowercase)
    table = Table(title=f"{split} split, {result.clips} clips, beam {beam}, alpha {alpha}")
    table.add_column("metric")
    table.add_column("score", justify="right")
    table.add_column("signature", overflow="fold")
    for score in result.scores:
        table.add_row(score.name, f"{score.value:.2f}", score.signature)
    stdout.print(table)
    stdout.print(f"files in {result.out_dir}")
    if report:
        from isltk.evaluation.report import write_report

        stdout.print(f"report: {write_report(result.out_dir)}")
