"""Load a trained translator from a checkpoint (safely) and decode prepared splits or new clips with
the exact preprocessing it was trained with (frame count, image size, resize mode: all stored in it)."""

from __future__ import annotations

import glob
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from isltk.config import Config, validate_config
from isltk.data import cache, hands, holistic, keypoints
from isltk.data.dataset import Augment, ClipItem, PreparedClips, collate, frame_indices, sequential_loader
from isltk.data.video import FrameSampling, decode_video
from isltk.data.vocab import TextVocabulary
from isltk.errors import CheckpointError, DataError
from isltk.models.familiarity import Familiarity, clip_vectors
from isltk.models.translator import SignTranslator
from isltk.training import checkpoint as ckpt
from isltk.training.distributed import pick_device
from isltk.training.step import StepSettings, autocast


@dataclass
class LoadedTranslator:
    model: SignTranslator
    vocab: TextVocabulary
    config: Config
    path: Path
    device: torch.device
    gloss_vocab: list[str] = field(default_factory=list)  # the CTC head's classes; [] without one
    supervision: str = "none"  # what trained the gloss heads: glosses, pseudo_glosses or none
    familiarity: Familiarity | None = None  # how far a clip may lie from the validation clips before a warning

    @cached_property
    def amp_dtype(self) -> torch.dtype | None:
        """The autocast dtype the checkpoint was trained (and validated) with on this device: scores match the
        validation that chose it, at the GPU's bf16/fp16 rate. None (fp32) on CPU."""
        return StepSettings.from_config(self.config, self.device).amp_dtype

    @property
    def clip_suffixes(self) -> set[str]:
        """What a folder given to translate holds as clips: videos, or `.pose` files for a pose-only model."""
        return VIDEO_SUFFIXES if self.config.data.pixels else {".pose"}

    def search_settings(self, beam: int | None, alpha: float | None) -> tuple[int, float]:
        """(beam size, length penalty): the given ones, else the checkpoint's inference.beam_size / length_penalty."""
        return beam or self.config.inference.beam_size, self.config.inference.length_penalty if alpha is None else alpha


VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".3gp"}


def expand_clips(items: list[str], suffixes: frozenset[str] | set[str] = VIDEO_SUFFIXES) -> list[Path]:
    """Files, folders (their clips: files ending in one of `suffixes`, videos by default, `.pose` files for a
    pose-only model) and globs (`**` recursive), in the order given. A folder without clips or a pattern that
    matches nothing is an error naming it: a silent empty run would look like success."""
    paths: list[Path] = []
    empty: list[str] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in suffixes)
        elif any(ch in item for ch in "*?[") and not path.exists():
            found = sorted(Path(p) for p in glob.glob(item, recursive=True) if Path(p).is_file())
        else:
            found = [path]
        if not found:
            empty.append(item)
        paths += found
    if empty:
        raise DataError("\n".join(f"{item}: no clips matched (a folder's clips: {', '.join(sorted(suffixes))})"
                                   for item in empty))
    return paths


def latest_best_checkpoint(runs_dir: Path) -> Path:
    run = ckpt.latest_run(runs_dir)
    if run is None:
        raise CheckpointError(f"{runs_dir}: no trained run found; pass --checkpoint or train first (`isltk train`)")
    return ckpt.resolve_checkpoint(run)


def _refuse_pickles(path: Path) -> None:
    """Anything that is not an isltk checkpoint folder is only ever opened with weights_only=True."""
    with path.open("rb") as handle:
        head = handle.read(2)
    if head not in (b"PK", b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05"):  # neither a torch zip nor a pickle
        raise CheckpointError(f"{path}: not an isltk checkpoint (expected a run folder or a ckpt-XXXXXXXX folder with "
                              "model.safetensors)")
    try:
        torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path}: refused: loading it would need arbitrary pickled code ({type(exc).__name__}); "
                              "isltk only loads safetensors and plain tensors") from None
    raise CheckpointError(f"{path}: not an isltk checkpoint (expected a ckpt-XXXXXXXX folder with model.safetensors)")


def weight_mismatch(expected: dict[str, torch.Tensor], found: dict[str, torch.Tensor], shown: int = 3) -> str:
    """What keeps `found` from loading into a model whose state is `expected`, said in one line ("" when it fits):
    how many weights are missing, unexpected or of another shape, with the first few names."""
    def some(names: list[str]) -> str:
        return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")

    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    reshaped = [f"{k} {tuple(found[k].shape)} for {tuple(expected[k].shape)}" for k in sorted(set(found) & set(expected))
                if found[k].shape != expected[k].shape]
    parts = [f"{len(names)} {what}: {some(names)}" for what, names in
             (("missing", missing), ("unexpected", unexpected), ("of another shape", reshaped)) if names]
    return "; ".join(parts)


def load_translator(path: Path, device: str = "auto") -> LoadedTranslator:
    if not path.exists():
        raise CheckpointError(f"{path}: checkpoint not found")
    if path.is_file() and not path.parent.name.startswith(ckpt.PREFIX):
        _refuse_pickles(path)
    folder = ckpt.resolve_checkpoint(path)
    meta = ckpt.read_model_meta(folder)
    vocab = meta.vocab
    model = SignTranslator(meta.model_config)
    state = ckpt.load_model_state(folder)
    mismatch = weight_mismatch(model.state_dict(), state)
    if mismatch:
        raise CheckpointError(f"{folder}: weights do not fit the stored model shape ({mismatch}); the checkpoint's "
                              "model.safetensors and meta.json come from different models")
    model.load_state_dict(state)
    chosen = pick_device(device, setting="--device")
    config = validate_config(meta.config, str(folder / "meta.json"))
    ctc_classes = meta.gloss_vocab if "temporal" in meta.model_config.gloss_heads and meta.model_config.ordered_glosses else []
    return LoadedTranslator(model.to(chosen).eval(), vocab, config, folder, chosen, ctc_classes, meta.supervision,
                            meta.familiarity)


@dataclass
class Decoded:
    text: str  # normalised like the manifest's text_norm (what the learning test and validation compare)
    display: str  # ordinary text, as a user reads it and as evaluate scores it
    score: float
    warning: str = ""  # the clip lies far from the validation clips (isltk.models.familiarity); "" otherwise


def decoded(vocab: TextVocabulary, ids: list[int], score: float) -> Decoded:
    return Decoded(vocab.normalized_text(ids), vocab.display_text(ids), score)


def decode_batch(loaded: LoadedTranslator, batch: dict[str, torch.Tensor], beam: int, alpha: float) -> list[Decoded]:
    """Translate a batch of clips (isltk.data.dataset.collate); each clip far from the validation clips carries a warning."""
    model = loaded.model
    with torch.no_grad(), autocast(loaded.device.type, loaded.amp_dtype):
        memory, memory_mask = model.forward_features(*model.batch_inputs(batch, loaded.device))
        hyps = model.translate_memory(memory, memory_mask, beam_size=beam, alpha=alpha)
    out = [decoded(loaded.vocab, h.tokens, h.score) for h in hyps]
    if loaded.familiarity is not None:
        for result, distance in zip(out, loaded.familiarity.distance(clip_vectors(memory, memory_mask)), strict=True):
            result.warning = loaded.familiarity.warning(distance)
    return out


@dataclass
class EncodedSplit:
    records: list[dict]  # manifest records, in order
    memories: list[tuple[torch.Tensor, torch.Tensor]]  # per batch: decoder memory and its mask
    glosses: list[list[str]]  # per clip: greedy CTC gloss recognition ([] without a gloss head)


def encode_split(loaded: LoadedTranslator, split: str, batch_size: int = 16, prepared_dir: Path | None = None,
                 on_batch: Callable[[int], None] | None = None) -> EncodedSplit:
    """Encode a prepared split once: however many (beam, alpha) settings then decode it, the ViT runs once."""
    cfg = loaded.config
    data_dir = prepared_dir or cfg.data.prepared_dir
    frames = None if cfg.data.time_based else cfg.data.num_frames
    if not cache.is_complete(data_dir):
        raise DataError(f"{data_dir}: no prepared cache here (the checkpoint's data.prepared_dir, or --prepared-dir); "
                        "pass --prepared-dir with the cache to score, or run `isltk prepare` for it")
    stored = cache.read_settings(data_dir) or {}
    if stored.get("image_size", loaded.model.cfg.image_size) != loaded.model.cfg.image_size:
        raise DataError(f"{data_dir}: frames stored at {stored['image_size']} px, but {loaded.path} reads "
                        f"{loaded.model.cfg.image_size} px; prepare the clips with the checkpoint's data settings "
                        "(its config is in meta.json) into another data.prepared_dir")
    if split not in cache.SPLITS:
        raise DataError(f"--split {split}: prepared caches hold {', '.join(cache.SPLITS)} (a CSV's dev rows are in val)")
    dataset = PreparedClips(data_dir, split, loaded.vocab, Augment(frames), cfg.decoder.max_length)
    if not len(dataset):
        raise DataError(f"{data_dir}: the {split!r} split is empty")
    model, encoded = loaded.model, EncodedSplit(dataset.records, [], [])
    for batch in sequential_loader(dataset, batch_size):
        with torch.no_grad(), autocast(loaded.device.type, loaded.amp_dtype):
            inputs = model.batch_inputs(batch, loaded.device)
            features, mask = model.forward_temporal(inputs.frames, inputs.frame_mask, streams=inputs.streams)
            encoded.memories.append(model.pooling(features, mask))
            if loaded.gloss_vocab:
                encoded.glosses += [[loaded.gloss_vocab[i] for i in ids] for ids in model.recognize_glosses(features, mask)]
        if on_batch:
            on_batch(len(batch["tokens"]))
    return encoded


def decode_memories(loaded: LoadedTranslator, memories: list[tuple[torch.Tensor, torch.Tensor]], beam: int,
                    alpha: float) -> list[Decoded]:
    out: list[Decoded] = []
    for memory, memory_mask in memories:
        with autocast(loaded.device.type, loaded.amp_dtype):
            hyps = loaded.model.translate_memory(memory, memory_mask, beam_size=beam, alpha=alpha)
        out += [decoded(loaded.vocab, h.tokens, h.score) for h in hyps]
    return out


def decode_split(loaded: LoadedTranslator, split: str, beam: int, alpha: float, batch_size: int = 16,
                 prepared_dir: Path | None = None, on_batch: Callable[[int], None] | None = None) -> tuple[list[dict], list[Decoded]]:
    encoded = encode_split(loaded, split, batch_size, prepared_dir, on_batch)
    return encoded.records, decode_memories(loaded, encoded.memories, beam, alpha)


@dataclass
class ClipTranslation:
    path: Path
    text: str = ""
    score: float = 0.0
    seconds: float = 0.0
    error: str = ""
    warning: str = ""  # the clip lies far from what the model was validated on


def clip_inputs(loaded: LoadedTranslator, path: Path) -> ClipItem:
    """Read a new clip exactly as `prepare` + evaluation did for the checkpoint's training data: its frames, and
    its keypoints and hand crops where the model reads them (keypoints pose_files: the `.pose` file beside the
    video, or the `.pose` file itself for a keypoints-only model; mediapipe: extracted here)."""
    data = loaded.config.data
    sampling = FrameSampling.from_data(data)
    clip = pose = None
    if data.pixels:
        clip = decode_video(path, sampling, data.image_size, data.resize_mode, data.min_decoded_fraction,
                            keep_raw=data.keypoints == "mediapipe" or data.hand_crop_px > 0)
    if data.keypoints == "mediapipe":
        assert clip is not None and clip.raw is not None  # MediaPipe on the full-size frames, as prepare ran it
        pose, pose_path = holistic.extract(clip.raw, len(clip.raw) / clip.duration_s), path
    elif data.keypoints == "pose_files":
        pose_path = path.with_suffix(keypoints.SUFFIX)
        pose = keypoints.sampled(keypoints.read_pose(pose_path), sampling, len(clip.frames) if clip is not None else None)
    frames = clip.frames if clip is not None else None
    points = crops = found = None
    if pose is not None:
        xy, seen = keypoints.model_points(pose, pose_path)
        points = keypoints.normalize(xy, seen)
        if data.hand_crop_px:
            assert clip is not None and clip.raw is not None
            crops, found = hands.clip_crops(clip.raw, xy, seen, data.hand_crop_px), hands.crop_found(seen)
    if not data.time_based:
        picked = frame_indices(len(frames) if frames is not None else len(points), data.num_frames, None)
        frames, points, crops, found = (None if a is None else a[picked] for a in (frames, points, crops, found))

    def tensor(array: np.ndarray | None) -> torch.Tensor | None:
        return torch.from_numpy(np.ascontiguousarray(array)) if array is not None else None

    return ClipItem(tensor(frames), torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long), tensor(points),
                    tensor(crops), tensor(found))


def translate_clips(loaded: LoadedTranslator, paths: list[Path], beam: int, alpha: float, batch_size: int = 8) -> Iterator[ClipTranslation]:
    """Translations in input order, batched; an unreadable clip yields an error entry, the rest go on."""
    for start in range(0, len(paths), batch_size):
        chunk = paths[start : start + batch_size]
        began = time.perf_counter()
        ready: list[tuple[int, ClipItem]] = []
        results = [ClipTranslation(p) for p in chunk]
        for i, path in enumerate(chunk):
            try:
                ready.append((i, clip_inputs(loaded, path)))
            except DataError as exc:  # an undecodable video, a missing or damaged pose file
                results[i].error = str(exc)
        if ready:
            batch = collate([item for _, item in ready])  # clips of different lengths, padded and masked
            for (i, _), out in zip(ready, decode_batch(loaded, batch, beam, alpha), strict=True):
                results[i].text, results[i].score, results[i].warning = out.display, out.score, out.warning
        seconds = (time.perf_counter() - began) / len(chunk)
        for result in results:
            result.seconds = seconds
            yield result
