"""`isltk report` on a large split: time to write it and file size for 1,000 clips (goal: <= 30 s, <= 20 MB).

    .venv/bin/python benchmarks/bench_report.py [--clips 1000] [--image-size 224] [--frames 48]

Builds a prepared cache of random 224 px frames (noise: the worst case for JPEG thumbnails) and an
evaluation folder of 1,000 clips with sentences of 3-15 words, then times `write_report` with its
defaults (frame strips for the 300 worst clips) and with strips for every clip. Where a headless
Chromium is installed, each report is also loaded in it (time to load, lay out and draw the page,
browser start included) and screenshot (`--screenshots DIR`).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import headless_browser, open_in_browser, synthetic_cache  # noqa: E402
from isltk.config import validate_config  # noqa: E402
from isltk.evaluation.report import write_report  # noqa: E402
from isltk.training import run_folder  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=1000)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--screenshots", type=Path, default=None, help="keep the browser's screenshots here")
    args = parser.parse_args()
    browser = headless_browser()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        cfg = validate_config({"data": {"prepared_dir": str(root / "prepared"), "image_size": args.image_size,
                                        "num_frames": args.frames}}, "bench")
        synthetic_cache(cfg, args.clips)
        rng = np.random.default_rng(0)
        words = [f"w{i}" for i in range(300)]
        eval_dir = root / "eval"
        eval_dir.mkdir()
        rows = []
        for i in range(args.clips):
            reference = " ".join(rng.choice(words, int(rng.integers(3, 16))))
            hypothesis = " ".join(w if rng.random() < 0.6 else str(rng.choice(words)) for w in reference.split())
            rows.append({"id": f"clip{i:05d}", "reference": reference, "hypothesis": hypothesis})
        (eval_dir / run_folder.EVAL_CLIPS_FILE).write_text("".join(json.dumps(r) + "\n" for r in rows))
        (eval_dir / run_folder.EVAL_METRICS_FILE).write_text(json.dumps({"checkpoint": "", "split": "test", "beam": 1, "alpha": 1.0,
                                                           "prepared_dir": str(cfg.data.prepared_dir), "scores": {}}))
        print(f"{args.clips} clips, {args.frames} stored frames of {args.image_size} px each")
        for thumbnails in (300, args.clips):
            started = time.perf_counter()
            path = write_report(eval_dir, root / f"report-{thumbnails}.html", thumbnails=thumbnails)
            seconds = time.perf_counter() - started
            line = f"  frame strips for {thumbnails:5d} clips: {seconds:5.1f} s, {path.stat().st_size / 2**20:5.2f} MiB"
            if browser:
                shot = (args.screenshots or root) / f"report-{thumbnails}.png"
                shot.parent.mkdir(parents=True, exist_ok=True)
                loaded = open_in_browser(browser, path, f"--screenshot={shot}", "--window-size=1200,1400")
                line += f"; headless Chromium loads and draws it in {loaded:.1f} s ({shot.name})"
            print(line)
        if not browser:
            print("  (no headless Chromium on PATH: page load in a browser not measured)")


if __name__ == "__main__":
    main()
