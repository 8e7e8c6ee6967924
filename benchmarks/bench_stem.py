"""Conv-stem memory layout: the stem's forward + backward with channels-last images (what the stems run) vs
the contiguous (N, C, H, W) layout, side by side on the same module and the same frames.

    .venv/bin/python benchmarks/bench_stem.py [--frames 216] [--repeats 6] [--variants "" "data.image_size=96,..."]

A variant is a comma-separated list of config overrides on configs/signing.yaml ("" = the preset); the frames
are one training batch of it (8 clips x 27 frames = 216 by default), with the motion channels (6 per frame).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from timm.layers import PatchEmbed

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import signing_variant  # noqa: E402
from isltk.models.encoder import stem_layer  # noqa: E402


def seconds_per_pass(forward, stem: torch.nn.Module, images: torch.Tensor, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        forward(stem, images).square().mean().backward()
        times.append(time.perf_counter() - started)
        stem.zero_grad(set_to_none=True)
    return statistics.median(times[1:])  # the first pass picks kernels and allocates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=216)
    parser.add_argument("--repeats", type=int, default=6, help="passes per layout (>= 2: the first one warms up)")
    parser.add_argument("--variants", nargs="+", default=["", "data.image_size=96,encoder.patch_size=16,encoder.conv_stem_width=16"])
    args = parser.parse_args()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    print(f"{'variant':64s} {'px':>4s} {'(N,C,H,W) s':>12s} {'channels-last s':>16s} {'speed-up':>9s}")
    for variant in args.variants:
        cfg = signing_variant(variant)
        size, channels = cfg.data.image_size, 6 if cfg.encoder.motion_channels else 3
        torch.manual_seed(0)
        stem = stem_layer(cfg.encoder)(img_size=size, patch_size=cfg.encoder.patch_size, in_chans=channels,
                                       embed_dim=cfg.encoder.vit_hidden_dim)
        images = torch.randn(args.frames, channels, size, size)
        # PatchEmbed.forward is the stem without its channels-last conversion: the same weights, other layout.
        contiguous = seconds_per_pass(PatchEmbed.forward, stem, images, args.repeats)
        channels_last = seconds_per_pass(type(stem).forward, stem, images, args.repeats)
        print(f"{variant or 'preset':64s} {size:4d} {contiguous:12.3f} {channels_last:16.3f} {contiguous / channels_last:8.2f}x", flush=True)


if __name__ == "__main__":
    main()
