"""Does the tiny pipeline learn signs, not the synthetic generator's constants? Train and test on a
corpus encoded at other frame sizes and frame rates than the default `isltk synth` output.

    .venv/bin/python benchmarks/bench_generalisation.py [--out /tmp/isltk-variant]   # ~8 min on 2 cores

Runs synth (sizes 320x240, 256x256, 240x426 portrait, 480x270; 15/50/60 fps) -> prepare -> train
(configs/tiny.yaml) -> evaluate on the test split (sentence combinations unseen in training).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from isltk.synth.simple import make_corpus  # noqa: E402

SIZES = [(320, 240), (256, 256), (240, 426), (480, 270)]
FPS = (15.0, 50.0, 60.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("/tmp/isltk-variant"))
    parser.add_argument("--clips", type=int, nargs=3, default=[480, 48, 48], metavar=("TRAIN", "VAL", "TEST"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="extra config overrides")
    args = parser.parse_args()
    start = time.perf_counter()
    make_corpus(args.out / "corpus", *args.clips, seed=99, workers=os.cpu_count() or 1, sizes=SIZES, fps_choices=FPS)
    data = [f"data.video_dir={args.out / 'corpus' / 'videos'}", f"data.csv_path={args.out / 'corpus' / 'sentences.csv'}",
            f"data.prepared_dir={args.out / 'prepared'}", *args.overrides]
    sets = [arg for item in data for arg in ("--set", item)]
    isltk = [sys.executable, "-m", "isltk"]
    subprocess.run([*isltk, "prepare", "-c", "configs/tiny.yaml", *sets], check=True)
    subprocess.run([*isltk, "train", "-c", "configs/tiny.yaml", *sets, "--out", str(args.out / "run")], check=True)
    subprocess.run([*isltk, "evaluate", "--checkpoint", str(args.out / "run"), "--split", "test",
                    "--prepared-dir", str(args.out / "prepared")], check=True)
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
