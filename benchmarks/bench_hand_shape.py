"""Can the frame encoder read a held hand shape on a signer it has never seen? Frame encoders side by side.

    .venv/bin/python benchmarks/bench_hand_shape.py [--steps 400] [--seeds 0 1] [--variants "" encoder.conv_stem_width=16 ...]

The six greetings of `isltk synth --style signing` are held still, and pairs of them differ only by hand
shape at one place (HELLO/BYE: flat vs O hands at the waist; SORRY/GOOD-MORNING: flat vs spread at the
forehead). This renders one frame of each greeting for the 12 training signers (8 clips each) and for the 6
unseen val/test signers, cropped and resized as `prepare` does and JPEG-compressed (a video codec's loss),
then trains the preset's frame encoder (configs/signing.yaml: ViT + patch grid) with a linear classifier on
the training signers (shift, zoom and colour jitter) and prints accuracy on the unseen signers (and on their
forehead pair alone, the hardest: flat vs spread fingers over a skin-coloured face, overall and by unseen
signer), per variant, measured side by side in one run, with the encoder's training time per step. It
isolates the frame encoder: the learning test (bench_learning.py) shows what the whole translator makes of
it. A variant is a comma-separated list of config overrides on configs/signing.yaml ("" is the preset as
shipped); frames are rendered at each variant's data.image_size.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import signing_variant  # noqa: E402
from isltk.config import Config  # noqa: E402
from isltk.models.encoder import VideoEncoder  # noqa: E402
from isltk.models.translator import IMAGENET_MEAN, IMAGENET_STD  # noqa: E402
from isltk.synth.signing import GREETINGS, SIGNERS, make_signer, render  # noqa: E402


def greeting_frames(signers: list[int], clips: int, size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(frames, greeting labels, signer ids)."""
    images, labels, signer_ids = [], [], []
    for signer_id in signers:
        signer = make_signer(signer_id)
        for clip in range(clips):
            for label, gloss in enumerate(GREETINGS):
                frame = render((gloss,), signer, seed=1000 * signer_id + 10 * clip + label)[0]
                height, width = frame.shape[:2]
                side = min(height, width)
                top, left = (height - side) // 2, (width - side) // 2
                frame = cv2.resize(frame[top : top + side, left : left + side], (size, size), interpolation=cv2.INTER_AREA)
                _, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])
                images.append(cv2.imdecode(jpeg, cv2.IMREAD_UNCHANGED))
                labels.append(label)
                signer_ids.append(signer_id)
    return (torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255, torch.tensor(labels),
            torch.tensor(signer_ids))


def jitter(images: torch.Tensor, strength: float, generator: torch.Generator) -> torch.Tensor:
    """Per image: zoom x(1 +- 0.6 strength), shift +- 0.4 strength of the half-width, RGB gains x(1 +- strength)."""
    n = len(images)
    zoom = 1 + (torch.rand(n, generator=generator) * 2 - 1) * 0.6 * strength
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1 / zoom
    theta[:, :, 2] = (torch.rand(n, 2, generator=generator) * 2 - 1) * 0.4 * strength
    grid = nn.functional.affine_grid(theta, list(images.shape), align_corners=False)
    images = nn.functional.grid_sample(images, grid, padding_mode="border", align_corners=False)
    return (images * (1 + (torch.rand(n, 3, 1, 1, generator=generator) * 2 - 1) * strength)).clamp(0, 1)


FOREHEAD_PAIR = (list(GREETINGS).index("SORRY"), list(GREETINGS).index("GOOD-MORNING"))  # flat vs spread, held at the forehead


@dataclass
class Score:
    unseen: float  # accuracy on the unseen signers' frames
    pair: float  # on their forehead-pair frames alone
    training: float  # on the training signers' frames
    seconds_per_step: float
    pair_by_signer: dict[int, tuple[int, int]]  # unseen signer -> (forehead-pair frames right, frames)


def train_and_score(cfg: Config, seed: int, steps: int, train: tuple, unseen: tuple) -> Score:
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    encoder = VideoEncoder(cfg.encoder, cfg.data.image_size)
    head = nn.Linear(encoder.out_dim, len(GREETINGS))
    optimizer = torch.optim.AdamW([*encoder.parameters(), *head.parameters()], lr=1e-3, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-3, total_steps=steps, pct_start=0.1)
    mean, std = torch.tensor(IMAGENET_MEAN)[:, None, None], torch.tensor(IMAGENET_STD)[:, None, None]

    def logits(images: torch.Tensor) -> torch.Tensor:  # one-frame clips
        return head(encoder(((images - mean) / std)[:, None], torch.ones(len(images), 1, dtype=torch.bool))[:, 0])

    def right(images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        encoder.eval()
        with torch.no_grad():
            correct = logits(images).argmax(-1) == labels
        encoder.train()
        return correct

    started = time.perf_counter()
    for _ in range(steps):
        pick = torch.randint(len(train[0]), (32,), generator=generator)
        loss = nn.functional.cross_entropy(logits(jitter(train[0][pick], 0.25, generator)), train[1][pick])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    per_step = (time.perf_counter() - started) / steps
    unseen_right = right(unseen[0], unseen[1])
    pair = torch.isin(unseen[1], torch.tensor(FOREHEAD_PAIR))
    by_signer = {}
    for signer in unseen[2].unique().tolist():
        theirs = pair & (unseen[2] == signer)
        by_signer[signer] = (int(unseen_right[theirs].sum()), int(theirs.sum()))
    return Score(unseen_right.float().mean().item(), unseen_right[pair].float().mean().item(),
                 right(train[0], train[1]).float().mean().item(), per_step, by_signer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--variants", nargs="+", default=[""],
                        help='comma-separated config overrides per variant; "" = configs/signing.yaml as shipped')
    args = parser.parse_args()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    frames: dict[int, tuple[tuple, tuple]] = {}
    train_signers, unseen_signers = list(SIGNERS["train"]), [*SIGNERS["val"], *SIGNERS["test"]]
    print(f"one frame per greeting clip: {len(train_signers)} training signers x 8 clips, {len(unseen_signers)} unseen "
          f"signers x 8 clips; "
          f"{args.steps} steps of 32 frames, seeds {args.seeds}")
    print(f"{'variant':52s} {'px':>4s} {'unseen signers':>22s} {'of them SORRY/GOOD-MORNING':>28s} {'training signers':>17s} "
          f"{'s/step':>7s}")
    for variant in args.variants:
        cfg = signing_variant(variant)
        size = cfg.data.image_size
        if size not in frames:
            frames[size] = (greeting_frames(train_signers, 8, size), greeting_frames(unseen_signers, 8, size))
        runs = [train_and_score(cfg, seed, args.steps, *frames[size]) for seed in args.seeds]
        unseen_acc, pair_acc = [100 * r.unseen for r in runs], [100 * r.pair for r in runs]
        print(f"{variant or 'preset':52s} {size:4d} {statistics.mean(unseen_acc):6.1f}% "
              f"({' / '.join(f'{a:.1f}' for a in unseen_acc)}) {statistics.mean(pair_acc):12.1f}% "
              f"({' / '.join(f'{a:.1f}' for a in pair_acc)}) {statistics.mean(100 * r.training for r in runs):16.1f}% "
              f"{statistics.mean(r.seconds_per_step for r in runs):7.3f}", flush=True)
        # Per unseen signer and seed: a signer at half its pair frames has one of the two greetings read as the
        # other throughout; at none, both swapped.
        print(f"{'':52s} forehead pair right by unseen signer (per seed): " + "  ".join(
            f"{signer}: " + " / ".join(f"{r.pair_by_signer[signer][0]}/{r.pair_by_signer[signer][1]}" for r in runs)
            for signer in unseen_signers), flush=True)


if __name__ == "__main__":
    main()
