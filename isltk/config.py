"""Typed configuration: one pydantic model per YAML section, loaded with one-line errors.

Every command reads the same `Config`; it is stored inside every checkpoint so a checkpoint alone
rebuilds its model and preprocessing. Defaults follow the seed's config where it gives one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from isltk.errors import ConfigError
from isltk.presets import PRESETS

DEFAULT_CONFIG_PATH = Path("configs/config.yaml")
CONFIG_ENV_VAR = "ISLTK_CONFIG"
# The hand encoder (isltk/models/hand_encoder.py) halves a crop three times: a smaller one leaves a map of 1 px or none.
MIN_HAND_CROP_PX = 16


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(StrictModel):
    video_dir: Path = Field(Path("data/videos"), description="folder of the videos (or PHOENIX frame folders)")
    csv_path: Path = Field(Path("data/sentences.csv"), description="the CSV of sentences (see docs/data.md for the layouts)")
    prepared_dir: Path = Field(Path("data/prepared"), description="where `prepare` writes the cache and training reads it")
    layout: Literal["auto", "generic", "isign", "isltranslate", "phoenix"] = Field("auto", description="CSV layout; auto detects it from the header")
    video_column: str = Field("video", description="generic layout: column of video paths")
    text_column: str = Field("text", description="generic layout: column of English sentences")
    split_column: str = Field("split", description="generic layout: optional column of train/val(dev)/test")
    video_extension: str = Field(".mp4", description="appended to ids for layouts that name videos by id")
    num_frames: int = Field(16, ge=1, le=1024, description="frames per clip the model sees (fixed-count mode)")
    sample_fps: float | None = Field(
        None, gt=0, le=120, description="keep this many frames per second of video (time-based mode); clips keep their length"
    )
    min_frames: int = Field(4, ge=1, description="time-based mode: shorter clips are stretched to this many frames")
    max_frames: int = Field(128, ge=1, le=4096, description="time-based mode: longer clips are sampled evenly down to this")
    cache_frames: int | None = Field(
        None, ge=1, le=4096, description="frames stored per clip; more than num_frames enables temporal jitter"
    )
    image_size: int = Field(224, ge=8, le=1024, description="square side in pixels of stored frames")
    resize_mode: Literal["letterbox", "crop"] = Field("letterbox", description="letterbox keeps the whole frame (padded); crop cuts the central square")
    cache_format: Literal["npy", "jpeg"] = Field(
        "npy", description="stored frames: npy = raw uint8 (memory-mapped), jpeg = compressed, decoded by the loader's workers"
    )
    jpeg_quality: int = Field(90, ge=10, le=100, description="JPEG quality of cache_format: jpeg")
    lowercase: bool = Field(True, description="lower-case the targets (scores then say case:lc)")
    val_fraction: float = Field(0.1, ge=0.0, lt=1.0, description="share of rows without a split that go to val (seeded hash)")
    test_fraction: float = Field(0.1, ge=0.0, lt=1.0, description="share of rows without a split that go to test (seeded hash)")
    split_seed: int = Field(42, description="seed of that hash split")
    min_token_count: int = Field(1, ge=1, description="word tokenizer: train-split count below which a word maps to <unk>")
    tokenizer: Literal["word", "bpe"] = Field(
        "word", description="word: one token per normalised word (unseen words become <unk>); bpe: byte-level BPE "
        "subwords trained on the train split (any sentence round-trips, nothing is unknown)")
    subword_vocab_size: int = Field(1000, ge=300, le=200_000, description="bpe: vocabulary size, 256 bytes and 4 specials included")
    min_decoded_fraction: float = Field(
        0.9, gt=0.0, le=1.0, description="reject a video that yields fewer than this share of its header frames"
    )
    prepare_workers: int | None = Field(None, ge=1, description="processes for prepare; default all cores")

    gloss_column: str = Field("gloss", description="generic layout: optional column of space-separated glosses")
    keypoints: Literal["none", "auto", "mediapipe", "pose_files"] = Field(
        "none", description="keypoints stored beside the frames (clips/<key>.pose): none; mediapipe = MediaPipe Holistic "
        "run on every stored frame (`make keypoints` installs it); pose_files = read from each clip's pose-format "
        "file (iSign's poses: <video path>.pose under data.pose_dir); auto = pose_files when every clip has its "
        ".pose file, else none (frames only, no hand crops), chosen by prepare and said in one line")
    pose_dir: Path | None = Field(None, description="keypoints pose_files: folder of the .pose files, laid out as "
                                  "data.video_dir (default: data.video_dir itself)")
    pixels: bool = Field(True, description="store and read the frames; false with keypoints pose_files: a pose-only "
                         "corpus (no videos needed), the model reads keypoints alone")
    hand_crop_px: int = Field(0, ge=0, le=224, description="side in pixels of a crop per hand per frame, cut from the "
                              "full-size frame where the keypoints place the hand and read by a hand encoder; 0 = none, "
                              f"else at least {MIN_HAND_CROP_PX} "
                              "(needs data.keypoints; with auto, only when the keypoints are found)")
    keypoint_stream: bool = Field(True, description="the model reads the keypoints as a stream of their own; false: "
                                  "they only place the hand crops (frames + hand crops, no keypoint encoder)")

    @property
    def stored_frames(self) -> int:
        """Fixed-count mode: frames stored per clip (time-based mode stores each clip's own count)."""
        return self.cache_frames if self.cache_frames is not None else self.num_frames

    @property
    def time_based(self) -> bool:
        return self.sample_fps is not None

    @model_validator(mode="after")
    def _check(self) -> DataConfig:
        if self.cache_frames is not None and self.cache_frames < self.num_frames:
            raise ValueError(f"data.cache_frames ({self.cache_frames}) must be >= data.num_frames ({self.num_frames})")
        if self.min_frames > self.max_frames:
            raise ValueError(f"data.min_frames ({self.min_frames}) must be <= data.max_frames ({self.max_frames})")
        if self.val_fraction + self.test_fraction >= 1.0:
            raise ValueError("data.val_fraction + data.test_fraction must leave room for a train split (< 1.0)")
        if not self.pixels and self.keypoints != "pose_files":
            raise ValueError("data.pixels false (a pose-only corpus) needs data.keypoints: pose_files, the model's only input")
        if 0 < self.hand_crop_px < MIN_HAND_CROP_PX:
            raise ValueError(f"data.hand_crop_px {self.hand_crop_px} is too small for the hand encoder, which halves a crop "
                             f"three times: use 0 (no crops) or at least {MIN_HAND_CROP_PX} (the signing preset: 32)")
        if self.hand_crop_px and (self.keypoints == "none" or not self.pixels):
            raise ValueError("data.hand_crop_px needs data.keypoints (they place the crops) and data.pixels (the frames "
                             "they are cut from)")
        if not self.keypoint_stream and (self.keypoints == "none" or not self.hand_crop_px):
            raise ValueError("data.keypoint_stream false leaves the keypoints to place the hand crops, and there are none "
                             "(set data.keypoints and data.hand_crop_px, or keypoint_stream true)")
        return self

    @property
    def poses_dir(self) -> Path:
        """Where keypoints pose_files are read from."""
        return self.pose_dir if self.pose_dir is not None else self.video_dir


class EncoderConfig(StrictModel):
    freeze_epochs: int = Field(
        0, ge=-1, description="epochs the ViT stays frozen; 0 = trainable from the start; -1 = frozen throughout, its "
        "per-frame features computed once and cached (the fast path)"
    )
    vit_hidden_dim: int = Field(1024, ge=8, description="ViT width")
    vit_num_heads: int = Field(16, ge=1, description="ViT attention heads")
    vit_num_layers: int = Field(24, ge=1, description="ViT blocks")
    vit_mlp_dim: int = Field(4096, ge=8, description="ViT MLP width")
    patch_size: int = Field(16, ge=1, description="ViT patch side in pixels")
    frame_pool: Literal["token", "flatten"] = Field(
        "token", description="one vector per frame: the class token, or the whole patch grid flattened and "
        "projected (keeps where and what a small hand is; for small from-scratch ViTs)"
    )
    frame_dim: int | None = Field(None, ge=8, description="frame_pool: flatten: width of the projected frame vector")
    conv_stem: Literal["none", "pooled"] = Field(
        "none", description="none: timm's one-conv patch embedding; pooled: a small conv stack with max pooling "
        "(small hand shapes carry over to unseen signers; needs patch_size % 8 == 0)")
    conv_stem_width: int = Field(0, ge=0, description="conv_stem pooled: channels of the first conv (0 = ViT width / 4)")
    motion_channels: bool = Field(False, description="feed each frame with its difference from the clip's mean frame "
                                  "(6 input channels: what moves stands out whatever the signer and background)")
    pretrained: str | None = Field(None, description="timm pretrained tag (needs network) or a local .pth/.safetensors")
    pixel_mean: tuple[float, float, float] | None = Field(
        None, description="RGB mean in 0..1 the backbone expects; default: the timm tag's pretrained config, else ImageNet's"
    )
    pixel_std: tuple[float, float, float] | None = Field(None, description="RGB std in 0..1; default as pixel_mean")
    grad_checkpointing: bool = Field(False, description="recompute each ViT block in the backward pass (less memory, ~1/3 more compute)")
    fused_attention: bool = Field(True, description="the ViT's attention by torch's scaled_dot_product_attention (flash / "
                                  "memory-efficient kernels on a GPU); false: the explicit softmax(QK^T)V")
    drop_path_rate: float = Field(0.0, ge=0.0, lt=1.0, description="stochastic depth of the ViT blocks")

    @model_validator(mode="after")
    def _check(self) -> EncoderConfig:
        if self.conv_stem == "pooled" and self.patch_size % 8:
            raise ValueError(f"encoder.conv_stem pooled needs encoder.patch_size divisible by 8 (got {self.patch_size})")
        if (self.conv_stem != "none" or self.motion_channels) and self.pretrained:
            raise ValueError("encoder.conv_stem / encoder.motion_channels change the patch embedding, so encoder.pretrained "
                             "weights cannot load; use one or the other")
        if self.vit_hidden_dim % self.vit_num_heads:
            raise ValueError(
                f"encoder.vit_hidden_dim ({self.vit_hidden_dim}) must be divisible by encoder.vit_num_heads ({self.vit_num_heads})"
            )
        return self


class TemporalConfig(StrictModel):
    normalization: Literal["both", "frame_change", "clip"] = Field(
        "both", description="clip: standardise over the clip (erases what is held still); "
        "both: the clip-mean feature and each frame's change from it, side by side; frame_change: each frame's "
        "feature and its change from the clip mean, side by side (both standardised with dataset statistics)"
    )
    num_temporal_conv: int = Field(4, ge=0, description="dense temporal conv blocks")
    hidden_dim: int | None = Field(None, ge=8, description="width of the temporal blocks; default the ViT width")
    kernel_size: int = Field(3, ge=1, description="frames each temporal conv sees (odd)")
    pool_window: int = Field(2, ge=1, description="frames per memory token in attention pooling")
    pool_heads: int = Field(8, ge=1, description="attention heads of the pooling")
    num_refine_layers: int = Field(2, ge=0, description="Transformer layers over the memory tokens")
    dropout: float = Field(0.2, ge=0.0, lt=1.0, description="dropout of the temporal blocks and pooling")

    @model_validator(mode="after")
    def _check(self) -> TemporalConfig:
        if self.kernel_size % 2 == 0:
            raise ValueError(f"temporal.kernel_size ({self.kernel_size}) must be odd so frames stay centred")
        return self


class DecoderConfig(StrictModel):
    hidden_dim: int = Field(512, ge=8, description="decoder width")
    num_layers: int = Field(3, ge=1, description="decoder layers")
    num_heads: int = Field(8, ge=1, description="decoder attention heads")
    ff_dim: int = Field(2048, ge=8, description="decoder feed-forward width")
    dropout: float = Field(0.1, ge=0.0, lt=1.0, description="decoder dropout")
    max_length: int = Field(50, ge=2, description="longest sentence in tokens, BOS/EOS included")
    label_smoothing: float = Field(0.1, ge=0.0, lt=1.0, description="label smoothing of the next-word loss (never onto PAD)")

    @model_validator(mode="after")
    def _check(self) -> DecoderConfig:
        if self.hidden_dim % self.num_heads:
            raise ValueError(
                f"decoder.hidden_dim ({self.hidden_dim}) must be divisible by decoder.num_heads ({self.num_heads})"
            )
        return self


class InferenceConfig(StrictModel):
    beam_size: int = Field(4, ge=1, description="beam size of evaluate and translate (1 = greedy; validation is greedy)")
    length_penalty: float = Field(1.0, ge=0.0, description="length penalty alpha of beam search")


class GlossLosses(StrictModel):
    """Weights of the gloss losses beside the translation loss, one entry per gloss head: a head exists only
    where its weight is above 0 and the run has sign labels (`supervision`). A new loss term is a field here,
    its head in models/translator.py and its loss in models/objective.py."""

    temporal: float = Field(
        0.0, ge=0.0, description="a gloss head on the temporal features: CTC from real glosses (signing order), "
        "the multiple-instance loss from pseudo-glosses (English order is not signing order)"
    )
    frame: float = Field(
        0.0, ge=0.0, description="a multiple-instance loss on the ViT's frame features: every gloss or pseudo-gloss "
        "of a clip must be named by at least one of its frames"
    )
    memory: float = Field(
        0.0, ge=0.0, description="the same multiple-instance loss on the decoder's memory tokens: what the decoder "
        "reads must name the clip's signs"
    )

    def active(self) -> dict[str, float]:
        """{head name: weight} of the terms in use."""
        return {name: weight for name, weight in self.model_dump().items() if weight > 0}


GLOSS_HEADS = tuple(GlossLosses.model_fields)  # ("temporal", "frame", "memory")


class AugmentationConfig(StrictModel):
    temporal_jitter: bool = Field(True, description="a random frame per segment (fixed count) or a 0.8-1.25x tempo change (time-based)")
    spatial_jitter_px: int = Field(4, ge=0, description="per-clip shift in pixels")
    color_jitter: float = Field(0.0, ge=0.0, lt=1.0, description="per-clip RGB gain jitter (e.g. 0.2: each channel x0.8..1.2)")
    scale_jitter: float = Field(0.0, ge=0.0, lt=0.5, description="per-clip zoom jitter (e.g. 0.15: x0.85..1.15 about the centre)")
    motion_dropout: float = Field(0.0, ge=0.0, lt=1.0, description="probability per clip that the model sees no "
                                  "motion (encoder.motion_channels and the temporal change features zeroed), so it "
                                  "learns to read every sign from what each frame shows, as a held sign requires")


class OptimizerConfig(StrictModel):
    """AdamW with one learning rate for the ViT and one for the rest, linear warm-up then cosine decay
    (training/optim.py)."""

    encoder_lr: float = Field(5.0e-5, gt=0, description="learning rate of the ViT")
    learning_rate: float = Field(1.0e-4, gt=0, description="lr of everything after the ViT")
    weight_decay: float = Field(0.001, ge=0, description="AdamW weight decay (not on norms, biases, embeddings)")
    max_grad_norm: float = Field(0.5, gt=0, description="gradient clipping norm")
    warmup_steps: int = Field(500, ge=0, description="linear warm-up steps before the cosine decay")
    fused: bool = Field(True, description="one fused AdamW kernel for all parameters on CUDA (false: torch's per-tensor "
                        "default); the CPU ignores it")


class CheckpointConfig(StrictModel):
    """When the trainer validates and saves, how many checkpoints it keeps, when it stops early."""

    val_every_epochs: int = Field(1, ge=1, description="validate (and checkpoint) every this many epochs")
    every_steps: int = Field(0, ge=0, description="also checkpoint every this many optimizer steps; 0 = only at epoch ends")
    keep: int = Field(1, ge=1, description="newest checkpoints kept beside the best")
    early_stopping_patience: int = Field(20, ge=0, description="validations without a better BLEU; 0 = never stop")


class TrainingConfig(StrictModel):
    num_epochs: int = Field(200, ge=1, description="epochs (when total_steps is 0)")
    total_steps: int = Field(
        0, ge=0, description="train exactly this many optimizer steps (LR schedule and stop); 0 = num_epochs x steps per epoch"
    )
    max_steps: int = Field(0, ge=0, description="stop early (checkpoint + validation) at this step; the schedule is unchanged")
    batch_size: int = Field(16, ge=1, description="clips per GPU per step")
    grad_accum_steps: int = Field(1, ge=1, description="batches per optimizer step")
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig, description="AdamW, its learning-rate schedule and clipping")
    use_amp: bool = Field(True, description="mixed precision on GPUs (bf16, or fp16 + grad scaler where bf16 is not native); CPU runs fp32")
    amp_dtype: Literal["auto", "bf16", "fp16"] = Field("auto", description="auto picks bf16 where the GPU supports it")
    compile: bool = Field(False, description="torch.compile the per-frame ViT")
    seed: int = Field(42, description="seed of weights, augmentation and batch order")
    num_workers: int = Field(4, ge=0, description="data-loader worker processes")
    pin_memory: bool = Field(True, description="on CUDA, the loader's batches in page-locked memory, copied to the GPU "
                             "without blocking the step; the CPU ignores it")
    supervision: Literal["auto", "glosses", "pseudo_glosses", "none"] = Field(
        "auto", description="sign labels for the gloss losses: auto = the corpus's glosses when it has them, else "
        "pseudo-glosses (each sentence's content words, lemmatised; docs/training.md); none = translation loss only"
    )
    gloss_losses: GlossLosses = Field(default_factory=GlossLosses, description="weights of the encoder's gloss losses")
    max_frames_per_batch: int = Field(0, ge=0, description="time-based mode: fill a batch up to this many padded frames "
                                      "instead of batch_size clips (0 = batch_size clips)")
    augmentation: AugmentationConfig = Field(default_factory=AugmentationConfig, description="per-clip augmentation of training clips")
    checkpoints: CheckpointConfig = Field(default_factory=CheckpointConfig, description="validation, checkpoints, early stopping")
    log_every_steps: int = Field(10, ge=1, description="log training loss every this many steps")
    distributed: Literal["ddp", "fsdp"] = Field("ddp", description="under torchrun: ddp, or fsdp (FSDP2) to shard weights and optimizer state")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto = cuda when available")
    runs_dir: Path = Field(Path("runs"), description="where run folders are created when --out is not given")


class HardwareConfig(StrictModel):
    gpu: str = Field("A100-40GB", description="the GPU this config is meant for (see `isltk check-hardware`)")
    num_gpus: int = Field(1, ge=1, description="GPUs to plan for (check-hardware)")
    dataset_clips: int = Field(6000, ge=1, description="clips per epoch, for the epoch-time estimate")


class Config(StrictModel):
    data: DataConfig = DataConfig()
    encoder: EncoderConfig = EncoderConfig()
    temporal: TemporalConfig = TemporalConfig()
    decoder: DecoderConfig = DecoderConfig()
    training: TrainingConfig = TrainingConfig()
    inference: InferenceConfig = InferenceConfig()
    hardware: HardwareConfig = HardwareConfig()

    @model_validator(mode="after")
    def _check(self) -> Config:
        if self.data.image_size % self.encoder.patch_size:
            raise ValueError(
                f"data.image_size ({self.data.image_size}) must be divisible by encoder.patch_size ({self.encoder.patch_size})"
            )
        if self.training.augmentation.motion_dropout > 0 and not (self.encoder.motion_channels or self.temporal.normalization != "clip"):
            raise ValueError("training.augmentation.motion_dropout needs motion to drop: encoder.motion_channels or "
                             "temporal.normalization both / frame_change")
        if not self.data.pixels and (self.encoder.freeze_epochs or self.encoder.motion_channels):
            raise ValueError("data.pixels false (keypoints only): encoder.freeze_epochs and encoder.motion_channels concern "
                             "the ViT, which a keypoints-only model has none of; set them to 0 / false")
        return self


# Keys that moved to another section: an old config gets one line naming the new key.
MOVED_KEYS = {
    ("temporal", "motion_dropout"): "training.augmentation.motion_dropout",
    ("training", "gloss_loss_weight"): "training.gloss_losses.temporal",
    ("training", "frame_gloss_loss_weight"): "training.gloss_losses.frame",
    ("training", "memory_gloss_loss_weight"): "training.gloss_losses.memory",
    **{("training", key): f"training.augmentation.{key}"
       for key in ("temporal_jitter", "spatial_jitter_px", "color_jitter", "scale_jitter", "motion_dropout")},
    **{("training", key): f"training.optimizer.{key}"
       for key in ("encoder_lr", "learning_rate", "weight_decay", "max_grad_norm", "warmup_steps")},
    ("training", "val_every_epochs"): "training.checkpoints.val_every_epochs",
    ("training", "early_stopping_patience"): "training.checkpoints.early_stopping_patience",
    ("training", "checkpoint_every_steps"): "training.checkpoints.every_steps",
    ("training", "keep_checkpoints"): "training.checkpoints.keep",
    ("decoder", "beam_size"): "inference.beam_size",
    ("decoder", "length_penalty"): "inference.length_penalty",
}


def default_config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV_VAR, DEFAULT_CONFIG_PATH))


def _format_error(source: str, error: dict[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key (check spelling; see README 'Config reference')"
    elif "input" in error and not isinstance(error["input"], dict | list) and error["type"] != "missing":
        message = f"{message} (got {error['input']!r})"
    return f"{source}: {key}: {message}"


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`override` on top of `base`, section by section (a key set in both takes override's value)."""
    merged = dict(base)
    for key, value in override.items():
        merged[key] = deep_merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
    return merged


def expand_preset(raw: dict[str, Any], source: str) -> dict[str, Any]:
    """`preset: NAME` -> the registered preset's sections with the rest of `raw` on top (isltk.presets)."""
    if "preset" not in raw:
        return raw
    rest = {k: v for k, v in raw.items() if k != "preset"}
    if raw["preset"] not in PRESETS:
        raise ConfigError(f"{source}: preset: unknown preset {raw['preset']!r}; choose from {', '.join(sorted(PRESETS))}")
    return deep_merge(PRESETS[raw["preset"]], rest)


def validate_config(raw: dict[str, Any], source: str) -> Config:
    """Validate a raw mapping (a `preset:` key expanded first); errors name the source, the dotted key and the
    problem, one per line."""
    moved = [f"{source}: {section}.{key}: moved to {new}; rename it there" for (section, key), new in MOVED_KEYS.items()
             if isinstance(raw.get(section), dict) and key in raw[section]]
    if moved:
        raise ConfigError("\n".join(moved))
    try:
        return Config.model_validate(expand_preset(raw, source))
    except ValidationError as exc:
        lines = [_format_error(source, error) for error in exc.errors()]
        raise ConfigError("\n".join(lines)) from None


def parse_override(text: str) -> tuple[list[str], Any]:
    """`training.batch_size=8` -> (['training', 'batch_size'], 8); values are parsed as YAML scalars."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE, e.g. --set training.batch_size=8")
    try:
        parsed = yaml.safe_load(value) if value.strip() else None
    except yaml.YAMLError:
        parsed = value
    return key.strip().split("."), parsed


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    for text in overrides:
        path, value = parse_override(text)
        node = raw
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"--set {text!r}: {part} is not a section")
            node = child
        node[path[-1]] = value
    return raw


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (plain YAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"key {key!r} appears twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path, chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A config file as a mapping, with `extends: OTHER.yaml` (relative to the file) resolved: the other
    file's sections first, this file's on top, so a variant states only what it changes."""
    if not path.is_file():
        hint = f" (set ${CONFIG_ENV_VAR} or pass --config)" if path == default_config_path() else ""
        raise ConfigError(f"{path}: config file not found{hint}")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader)
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save the config as UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}:{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if raw is None:
        raise ConfigError(f"{path}: the config is empty; start from a shipped one (configs/config.yaml) or name a "
                          "preset (`preset: signing`)")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections (data, encoder, ...), got {type(raw).__name__}")
    raw = {key: {} if value is None else value for key, value in raw.items()}  # a section with every key commented out
    if "extends" not in raw:
        return raw
    base_path = path.parent / str(raw.pop("extends"))
    if base_path.resolve() in {p.resolve() for p in (*chain, path)}:
        raise ConfigError(f"{path}: extends: {base_path} extends this file again (a loop)")
    return deep_merge(read_yaml(base_path, (*chain, path)), raw)


def load_config(path: Path | str | None = None, overrides: list[str] | None = None) -> Config:
    """Read YAML (`extends:` and `preset:` resolved), apply `--set` overrides, validate. Relative data paths
    stay relative to the cwd."""
    path = Path(path) if path is not None else default_config_path()
    raw = read_yaml(path)
    source = str(path) + (" (with --set overrides)" if overrides else "")
    return validate_config(apply_overrides(raw, list(overrides or [])), source)


def config_to_dict(config: Config) -> dict[str, Any]:
    return config.model_dump(mode="json")
