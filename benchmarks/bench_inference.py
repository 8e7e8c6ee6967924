"""Translation throughput: the decoding path of `isltk evaluate` and `isltk translate` (decode_batch), beam 1 and 4.

    .venv/bin/python benchmarks/bench_inference.py --preset tiny                   # CPU
    .venv/bin/python benchmarks/bench_inference.py --preset dense_vit --batch 16   # on a GPU (bf16 autocast)

A randomly initialised model of the preset decodes random clips under the autocast dtype a trained
checkpoint would use on this device. An untrained decoder rarely says EOS, so every sentence runs to
decoder.max_length: the figures are the slowest case of each beam (a trained model stops earlier).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from isltk.data.vocab import Vocabulary  # noqa: E402
from isltk.evaluation.inference import LoadedTranslator, decode_batch  # noqa: E402
from isltk.models.presets import preset_config  # noqa: E402
from isltk.models.translator import ModelConfig, SignTranslator  # noqa: E402
from isltk.presets import PRESETS  # noqa: E402
from isltk.training.distributed import pick_device  # noqa: E402


def clips_per_second(loaded: LoadedTranslator, frames: torch.Tensor, mask: torch.Tensor, beam: int, repeats: int) -> float:
    batch = {"frames": frames, "frame_mask": mask}
    decode_batch(loaded, batch, beam, 1.0)  # warm-up (kernels, allocator)
    if loaded.device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        decode_batch(loaded, batch, beam, 1.0)
    if loaded.device.type == "cuda":
        torch.cuda.synchronize()
    return repeats * frames.shape[0] / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="tiny")
    parser.add_argument("--batch", type=int, default=8, help="clips decoded together")
    parser.add_argument("--frames", type=int, default=16, help="frames per clip")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--vocab", type=int, default=2000, help="target vocabulary size")
    args = parser.parse_args()
    device = pick_device("auto")
    config = preset_config(args.preset)
    config.training.device = device.type
    vocab = Vocabulary.build([[f"w{i}" for i in range(args.vocab)]])
    torch.manual_seed(0)
    model = SignTranslator(ModelConfig.from_config(config, len(vocab), 0)).to(device).eval()
    loaded = LoadedTranslator(model, vocab, config, Path("."), device)
    size = config.data.image_size
    frames = torch.randint(0, 256, (args.batch, args.frames, size, size, 3), dtype=torch.uint8)  # as the loader gives them
    mask = torch.ones(args.batch, args.frames, dtype=torch.bool)
    precision = str(loaded.amp_dtype).replace("torch.", "") if loaded.amp_dtype else "fp32"
    print(f"device: {torch.cuda.get_device_name() if device.type == 'cuda' else 'cpu'} | precision: {precision} | "
          f"preset {args.preset}: {args.batch} clips x {args.frames} frames at {size} px, up to {config.decoder.max_length} tokens")
    rates = {beam: clips_per_second(loaded, frames, mask, beam, args.repeats) for beam in (1, 4)}
    for beam, rate in rates.items():
        print(f"beam {beam}: {rate:.2f} clips/s")
    print(f"beam 4 / beam 1 clips/s: {rates[4] / rates[1]:.2f}x")


if __name__ == "__main__":
    main()
