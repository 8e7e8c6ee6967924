"""Where the training data is loaded: in the training process (num_workers 0) vs loader worker processes, side by side.

    .venv/bin/python benchmarks/bench_workers.py --out /tmp/isltk-learning [--config configs/signing.yaml]
                                                 [--steps 200] [--workers 1] [--rounds 1]

Trains `--steps` steps of the config on the signing corpus and cache that `bench_learning.py --out` left there
(it makes a small corpus with `--clips` when there is none), once with each worker count, alternating, and prints
the milliseconds per step (step 1 to the last, so the first step's kernel choice and the final validation stay
out) and the ratio. On a machine with few cores a worker competes with the step's threads for the same cores:
the worker's loading is then not hidden behind the step but slows it (configs/signing.yaml loads in-process
for that reason, docs/experiments/learning.md).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import prepare_quietly  # noqa: E402
from isltk.config import load_config  # noqa: E402
from isltk.synth.signing import make_signing_corpus  # noqa: E402
from isltk.training.trainer import Callbacks, StepInfo, Trainer  # noqa: E402


def ms_per_step(config: str, overrides: list[str], run_dir: Path) -> float:
    """Train once; the time from step 1's report to the last step's, per step."""
    stamps: list[tuple[int, float]] = []

    def on_step(info: StepInfo) -> None:
        stamps.append((info.step, time.perf_counter()))

    cfg = load_config(config, overrides)
    Trainer(cfg, run_dir, callbacks=Callbacks(on_step=on_step)).fit()
    (first, started), (last, ended) = stamps[0], stamps[-1]
    return (ended - started) / max(1, last - first) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="a bench_learning.py --out folder (its corpus and cache)")
    parser.add_argument("--config", default="configs/signing.yaml")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--workers", type=int, default=1, help="the worker count compared with in-process loading")
    parser.add_argument("--rounds", type=int, default=1, help="runs per setting (alternating); the median is printed")
    parser.add_argument("--clips", type=int, nargs=3, default=[16, 4, 4], metavar=("TRAIN", "VAL", "TEST"),
                        help="corpus size when --out has no corpus yet")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="extra config overrides")
    args = parser.parse_args()
    corpus = args.out / "corpus"
    if not (corpus / "sentences.csv").is_file():
        make_signing_corpus(corpus, *args.clips, seed=0, workers=os.cpu_count() or 1)
    data = [f"data.video_dir={corpus / 'videos'}", f"data.csv_path={corpus / 'sentences.csv'}",
            f"data.prepared_dir={args.out / 'prepared'}", *args.overrides]
    prepare_quietly(args.config, data)
    # no validation before the last step, no checkpoint per epoch: only the steps and their loading are timed
    timing = [*data, f"training.total_steps={args.steps}", "training.log_every_steps=1",
              "training.checkpoints.val_every_epochs=1000", "training.checkpoints.keep=1"]
    results: dict[int, list[float]] = {0: [], args.workers: []}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            for workers in results:
                run_dir = Path(tmp) / f"w{workers}-r{round_}"
                results[workers].append(ms_per_step(args.config, [*timing, f"training.num_workers={workers}"], run_dir))
                print(f"num_workers {workers}, round {round_ + 1}: {results[workers][-1]:.0f} ms per step", flush=True)
    in_process, workers = statistics.median(results[0]), statistics.median(results[args.workers])
    print(f"{args.steps} steps of {args.config} on {os.cpu_count()} cores: in-process {in_process:.0f} ms per step, "
          f"{args.workers} worker(s) {workers:.0f} ms per step; workers / in-process {workers / in_process:.2f}x")


if __name__ == "__main__":
    main()
