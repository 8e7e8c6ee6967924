"""A run folder's layout: the one module that names its files.

    RUN_DIR/
      checkpoints/ckpt-00001234/   one folder per save (isltk.training.checkpoint), COMMITTED marker last
      checkpoints/best.json        names the best checkpoint by validation BLEU
      metrics.jsonl                every logged training and validation number (isltk.training.metrics_log)
      curves.png                   loss and validation BLEU, redrawn at each validation
      eval-<split>-beam<N>/        an `isltk evaluate` output: hypotheses.txt, references.txt, clips.jsonl,
                                   metrics.json, and report.html with --report

The trainer, evaluate, report and translate ask this module for paths, so a renamed file is renamed once.
"""

from __future__ import annotations

from pathlib import Path

CHECKPOINTS_DIR = "checkpoints"
BEST_FILE = "best.json"
METRICS_FILE = "metrics.jsonl"
CURVES_FILE = "curves.png"
EVAL_PREFIX = "eval-"
EVAL_CLIPS_FILE = "clips.jsonl"
EVAL_METRICS_FILE = "metrics.json"
HYPOTHESES_FILE = "hypotheses.txt"
REFERENCES_FILE = "references.txt"
REPORT_FILE = "report.html"


def checkpoints_dir(run_dir: Path) -> Path:
    return run_dir / CHECKPOINTS_DIR


def run_dir_of(checkpoint: Path) -> Path:
    """The run folder a checkpoint folder (RUN_DIR/checkpoints/ckpt-…) belongs to."""
    return checkpoint.parent.parent


def holding_folder(path: Path) -> Path:
    """Where checkpoints live for a path given by a user: a run folder's checkpoints/, else the path itself."""
    return checkpoints_dir(path) if checkpoints_dir(path).is_dir() else path


def eval_dir(run_dir: Path, split: str, beam: int) -> Path:
    """Where `isltk evaluate` writes by default."""
    return run_dir / f"{EVAL_PREFIX}{split}-beam{beam}"


def is_eval_dir(path: Path) -> bool:
    return (path / EVAL_CLIPS_FILE).is_file() and (path / EVAL_METRICS_FILE).is_file()


def eval_dirs(run_dir: Path) -> list[Path]:
    """A run folder's evaluations, oldest first."""
    return sorted((p for p in run_dir.glob(f"{EVAL_PREFIX}*") if is_eval_dir(p)), key=lambda p: p.stat().st_mtime)


def holds_run(run_dir: Path) -> bool:
    """Whether a folder already holds a training run (its metrics or any checkpoint folder): a fresh run there
    would mix its metrics with the old ones and prune the old run's checkpoints."""
    folder = checkpoints_dir(run_dir)
    return (run_dir / METRICS_FILE).is_file() or (folder.is_dir() and any(folder.iterdir()))
