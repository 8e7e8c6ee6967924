"""A screenshot of an `isltk report` page in a real headless browser (how the README's picture was made).

    .venv/bin/python benchmarks/screenshot_report.py demo/run/eval-test-beam1/report.html docs/report-demo.png [--height 1400]

Needs a headless Chromium (Debian: `apt-get install chromium-headless-shell`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import headless_browser, open_in_browser  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("report", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=1400)
    args = parser.parse_args()
    browser = headless_browser()
    if browser is None:
        sys.exit("no headless Chromium on PATH (Debian: apt-get install chromium-headless-shell)")
    args.png.parent.mkdir(parents=True, exist_ok=True)
    seconds = open_in_browser(browser, args.report.resolve(), f"--screenshot={args.png.resolve()}",
                              f"--window-size={args.width},{args.height}")
    print(f"{args.png}: {args.width}x{args.height} px, page loaded and drawn in {seconds:.1f} s by {browser}")


if __name__ == "__main__":
    main()
