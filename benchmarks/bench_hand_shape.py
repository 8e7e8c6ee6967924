"""Can the frame encoder read a held hand shape on a signer it has never seen? Frame encoders side by side.

    .venv/bin/python benchmarks/bench_hand_shape.py [--steps 400] [--seeds 0 1] [--variants "" "data.keypoints=none,data.hand_crop_px=0" ...]

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
shipped); frames are rendered at each variant's data.image_size. A variant with `data.hand_crop_px` (the preset:
32, read where the corpus ships keypoints) also cuts each frame's hand crops where the keypoints place them, as a
detector reports them (isltk.synth.detector: a hand lost in ~24% of frames is placed from the body model's wrist and
knuckles, as prepare places it), and adds the translator's hand encoder to the frame encoder; "data.keypoints=none,data.hand_crop_px=0" is the frame encoder
alone (the preset on a corpus without keypoints). Both are the default variants.
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
from isltk.data import hands  # noqa: E402
from isltk.models.encoder import VideoEncoder  # noqa: E402
from isltk.models.hand_encoder import HandEncoder  # noqa: E402
from isltk.models.translator import IMAGENET_MEAN, IMAGENET_STD  # noqa: E402
from isltk.synth.detector import as_detected  # noqa: E402
from isltk.synth.signing import GREETINGS, SIGNERS, make_signer, render_with_keypoints  # noqa: E402


@dataclass
class Frames:
    images: torch.Tensor  # (N, 3, H, W) in 0..1
    labels: torch.Tensor  # (N,) greeting
    signers: torch.Tensor  # (N,) signer id
    crops: torch.Tensor | None = None  # (N, 2, 3, S, S) in 0..1, left hand then right
    found: torch.Tensor | None = None  # (N, 2) bool: the detected keypoints placed the hand's crop


def jpeg(image: np.ndarray) -> np.ndarray:
    _, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)


def greeting_frames(signers: list[int], clips: int, size: int, crop_px: int = 0) -> Frames:
    """One frame per greeting clip; with `crop_px`, its hand crops placed by the keypoints as a detector reports
    them (isltk.synth.detector: a hand lost in ~24% of frames), cut as `prepare` cuts them."""
    images, labels, signer_ids, crops, found = [], [], [], [], []
    for signer_id in signers:
        signer = make_signer(signer_id)
        for clip in range(clips):
            for label, gloss in enumerate(GREETINGS):
                seed = 1000 * signer_id + 10 * clip + label
                frames, points, confidence = render_with_keypoints((gloss,), signer, seed=seed)
                frame = frames[0]
                if crop_px:
                    points, confidence = as_detected(points[:1], confidence[:1], seed)
                    seen = confidence > 0
                    crops.append(np.stack([jpeg(c) for c in hands.clip_crops([frame], points[..., :2], seen, crop_px)[0]]))
                    found.append(hands.crop_found(seen)[0])
                height, width = frame.shape[:2]
                side = min(height, width)
                top, left = (height - side) // 2, (width - side) // 2
                images.append(jpeg(cv2.resize(frame[top : top + side, left : left + side], (size, size),
                                              interpolation=cv2.INTER_AREA)))
                labels.append(label)
                signer_ids.append(signer_id)
    out = Frames(torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255, torch.tensor(labels), torch.tensor(signer_ids))
    if crop_px:
        out.crops = torch.from_numpy(np.stack(crops)).permute(0, 1, 4, 2, 3).float() / 255
        out.found = torch.from_numpy(np.stack(found))
    return out


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


def train_and_score(cfg: Config, seed: int, steps: int, train: Frames, unseen: Frames) -> Score:
    """The preset's frame encoder (+ its hand encoder when the variant cuts crops, summed per frame as the
    translator sums them) and a linear classifier, trained on `train`, scored on `unseen`."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    encoder = VideoEncoder(cfg.encoder, cfg.data.image_size)
    hand_encoder = HandEncoder(encoder.out_dim, cfg.encoder.conv_stem_width or 16) if train.crops is not None else None
    head = nn.Linear(encoder.out_dim, len(GREETINGS))
    modules = [encoder, head] + ([hand_encoder] if hand_encoder else [])
    optimizer = torch.optim.AdamW([p for m in modules for p in m.parameters()], lr=1e-3, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-3, total_steps=steps, pct_start=0.1)
    mean, std = torch.tensor(IMAGENET_MEAN)[:, None, None], torch.tensor(IMAGENET_STD)[:, None, None]

    def logits(data: Frames, pick: torch.Tensor, augment: bool) -> torch.Tensor:  # one-frame clips
        images = jitter(data.images[pick], 0.25, generator) if augment else data.images[pick]
        one = torch.ones(len(pick), 1, dtype=torch.bool)
        features = encoder(((images - mean) / std)[:, None], one)[:, 0]
        if hand_encoder is not None:
            crops = data.crops[pick]
            if augment:  # the loader's crop augmentation: RGB gains of their own
                crops = (crops * (1 + (torch.rand(len(pick), 1, 3, 1, 1, generator=generator) * 2 - 1) * 0.25)).clamp(0, 1)
            features = features + hand_encoder(((crops - mean) / std)[:, None], data.found[pick][:, None], one)[:, 0]
        return head(features)

    def right(data: Frames) -> torch.Tensor:
        for module in modules:
            module.eval()
        with torch.no_grad():
            correct = torch.cat([logits(data, pick, False).argmax(-1) == data.labels[pick]
                                 for pick in torch.arange(len(data.labels)).split(256)])
        for module in modules:
            module.train()
        return correct

    started = time.perf_counter()
    for _ in range(steps):
        pick = torch.randint(len(train.labels), (32,), generator=generator)
        loss = nn.functional.cross_entropy(logits(train, pick, True), train.labels[pick])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    per_step = (time.perf_counter() - started) / steps
    unseen_right = right(unseen)
    pair = torch.isin(unseen.labels, torch.tensor(FOREHEAD_PAIR))
    by_signer = {}
    for signer in unseen.signers.unique().tolist():
        theirs = pair & (unseen.signers == signer)
        by_signer[signer] = (int(unseen_right[theirs].sum()), int(theirs.sum()))
    return Score(unseen_right.float().mean().item(), unseen_right[pair].float().mean().item(),
                 right(train).float().mean().item(), per_step, by_signer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--variants", nargs="+", default=["data.keypoints=none,data.hand_crop_px=0", ""],
                        help='comma-separated config overrides per variant; "" = configs/signing.yaml as shipped')
    args = parser.parse_args()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    frames: dict[tuple[int, int], tuple[Frames, Frames]] = {}
    train_signers, unseen_signers = list(SIGNERS["train"]), [*SIGNERS["val"], *SIGNERS["test"]]
    print(f"one frame per greeting clip: {len(train_signers)} training signers x 8 clips, {len(unseen_signers)} unseen "
          f"signers x 8 clips; "
          f"{args.steps} steps of 32 frames, seeds {args.seeds}")
    print(f"{'variant':52s} {'px':>4s} {'unseen signers':>22s} {'of them SORRY/GOOD-MORNING':>28s} {'training signers':>17s} "
          f"{'s/step':>7s}")
    for variant in args.variants:
        cfg = signing_variant(variant)
        size, crop_px = cfg.data.image_size, cfg.data.hand_crop_px
        if (size, crop_px) not in frames:
            frames[size, crop_px] = (greeting_frames(train_signers, 8, size, crop_px), greeting_frames(unseen_signers, 8, size, crop_px))
        runs = [train_and_score(cfg, seed, args.steps, *frames[size, crop_px]) for seed in args.seeds]
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
