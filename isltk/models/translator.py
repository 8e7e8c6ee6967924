"""SignTranslator: frames -> per-frame ViT -> dense temporal blocks -> attention pooling -> decoder.

Named presets live in `isltk.models.presets`, the parameter/FLOP summary in `isltk.models.summary`.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import torch
from pydantic import Field, field_validator
from torch import nn

from isltk.config import GLOSS_HEADS, Config, DecoderConfig, EncoderConfig, StrictModel, TemporalConfig
from isltk.data.keypoints import CHANNELS, MODEL_POINTS
from isltk.data.tokens import BOS_ID, EOS_ID, PAD_ID, UNK_ID  # noqa: F401 (the model speaks these ids)
from isltk.models.decoder import SentenceDecoder
from isltk.models.encoder import VideoEncoder, load_pretrained
from isltk.models.hand_encoder import HandEncoder
from isltk.models.keypoint_encoder import KeypointEncoder
from isltk.models.search import Hypothesis, beam_search, greedy_search, never_emit, no_degenerate_repetition
from isltk.models.temporal import DenseTemporalAttentionPooling, DenseTemporalBlocks

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ModelConfig(StrictModel):
    """Everything that fixes the model's shape; stored in every checkpoint to rebuild it."""

    encoder: EncoderConfig
    temporal: TemporalConfig
    decoder: DecoderConfig
    image_size: int = Field(ge=8)
    vocab_size: int = Field(ge=5)
    gloss_vocab_size: int = Field(0, ge=0, description="classes of the gloss heads (glosses or pseudo-glosses); 0 = none")
    gloss_heads: tuple[str, ...] = Field((), description="the gloss heads (training.gloss_losses above 0), in GLOSS_HEADS order")
    ordered_glosses: bool = Field(True, description="the labels follow signing order (real glosses): the temporal head "
                                  "learns by CTC; pseudo-glosses (English order) by the multiple-instance loss")
    pixel_mean: tuple[float, float, float] = IMAGENET_MEAN  # resolved at training time, so translate uses the same
    pixel_std: tuple[float, float, float] = IMAGENET_STD
    pixels: bool = Field(True, description="the model reads frames through the ViT (false: keypoints alone)")
    keypoint_points: int = Field(0, ge=0, description="keypoints per frame the model reads beside (or instead of) pixels; 0 = none")
    keypoint_channels: int = Field(0, ge=0, description="values per keypoint (isltk.data.keypoints.CHANNELS)")
    hand_crop_px: int = Field(0, ge=0, description="side of the two hand crops per frame a hand encoder reads; 0 = none")

    @field_validator("gloss_heads")
    @classmethod
    def _known_heads(cls, heads: tuple[str, ...]) -> tuple[str, ...]:
        unknown = set(heads) - set(GLOSS_HEADS)
        if unknown:
            raise ValueError(f"unknown gloss heads {sorted(unknown)}; known: {', '.join(GLOSS_HEADS)}")
        return heads

    @classmethod
    def from_config(cls, config: Config, vocab_size: int, gloss_vocab_size: int, ordered_glosses: bool = True) -> ModelConfig:
        """Use `isltk.models.spec.model_config` unless the sizes are known: it reads them from the cache.

        `gloss_vocab_size` counts the run's sign labels (0: none); `ordered_glosses` says whether they follow
        signing order (real glosses), which CTC needs."""
        heads = tuple(name for name in GLOSS_HEADS if name in config.training.gloss_losses.active()) if gloss_vocab_size else ()
        mean, std = pixel_normalization(config.encoder)
        if config.data.keypoints == "auto":  # the streams depend on the corpus's files
            raise ValueError("data.keypoints auto is resolved against the corpus first (isltk.data.inputs.resolve)")
        with_keypoints = config.data.keypoints != "none" and config.data.keypoint_stream
        return cls(encoder=config.encoder, temporal=config.temporal, decoder=config.decoder,
                   image_size=config.data.image_size, vocab_size=vocab_size, gloss_vocab_size=gloss_vocab_size if heads else 0,
                   gloss_heads=heads, ordered_glosses=ordered_glosses, pixel_mean=mean, pixel_std=std,
                   pixels=config.data.pixels, keypoint_points=MODEL_POINTS if with_keypoints else 0,
                   keypoint_channels=CHANNELS if with_keypoints else 0, hand_crop_px=config.data.hand_crop_px)


def pixel_normalization(encoder: EncoderConfig) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """The mean/std the backbone was trained with: set explicitly, else from the timm tag's pretrained config
    (read from timm's registry, no download: e.g. 0.5/0.5 for AugReg ViTs, CLIP's own for CLIP), else ImageNet's."""
    mean, std = encoder.pixel_mean, encoder.pixel_std
    if (mean is None or std is None) and encoder.pretrained and not Path(encoder.pretrained).exists():
        from timm.models import get_pretrained_cfg

        pretrained = get_pretrained_cfg(encoder.pretrained)
        if pretrained is not None:
            mean, std = mean or tuple(pretrained.mean), std or tuple(pretrained.std)
    return tuple(mean or IMAGENET_MEAN), tuple(std or IMAGENET_STD)  # type: ignore[return-value]


def collapse_ctc(best_path: list[int], blank: int = 0) -> list[int]:
    """A CTC best path -> labels: repeats merged, then blanks dropped ([a a _ a b b] -> [a a b])."""
    return [c for t, c in enumerate(best_path) if c != blank and (t == 0 or best_path[t - 1] != c)]


class GlossLogits(NamedTuple):
    logits: torch.Tensor  # (B, S, G) per step (frame, temporal step or memory token); class 0 = CTC blank
    mask: torch.Tensor  # (B, S) valid steps


class TranslatorOutput(NamedTuple):
    logits: torch.Tensor  # (B, L, V) next-token logits
    glosses: dict[str, GlossLogits]  # per gloss head in use (GLOSS_HEADS order); empty without one
    ordered_glosses: bool = True  # the temporal head learns by CTC (real glosses), else by the multiple-instance loss


class SignTranslator(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = VideoEncoder(cfg.encoder, cfg.image_size) if cfg.pixels else None
        frame_dim = self.encoder.out_dim if self.encoder is not None else cfg.encoder.frame_dim or cfg.encoder.vit_hidden_dim
        # Keypoints beside pixels: their per-frame vector is added to the ViT's; alone, it is the frame feature.
        self.keypoints = KeypointEncoder(cfg.keypoint_points, cfg.keypoint_channels, frame_dim) if cfg.keypoint_points else None
        # Keypoint-placed hand crops: the hand at its decoded resolution, added to the frame's features the same way.
        self.hands = HandEncoder(frame_dim, cfg.encoder.conv_stem_width or 16) if cfg.hand_crop_px else None
        self.temporal = DenseTemporalBlocks(frame_dim, cfg.temporal)
        self.pooling = DenseTemporalAttentionPooling(self.temporal.out_dim, cfg.decoder.hidden_dim, cfg.temporal)
        self.decoder = SentenceDecoder(cfg.decoder, cfg.vocab_size, PAD_ID)
        # One linear gloss head per training.gloss_losses term, on the features it names:
        # - temporal: sign recognition on the temporal features rewards the video encoder directly, so it learns
        #   signs before the decoder settles into the language prior (Camgoz et al. 2020's joint CTC); without
        #   glosses the same head learns the sentence's pseudo-glosses by the multiple-instance loss.
        # - frame: the same labels read from each frame alone, the shortest path from a sign's label to the ViT,
        #   so a hand shape is learnt as fast as a frame classifier learns it.
        # - memory: from the memory the decoder reads: a held hand shape the frames tell apart was found washed
        #   out by the temporal blocks and pooling, where only a few next-word tokens asked to keep it; measured,
        #   it raised test BLEU-4 on both corpora (docs/experiments/learning.md).
        widths = {"temporal": self.temporal.out_dim, "frame": frame_dim, "memory": cfg.decoder.hidden_dim}
        self.gloss_heads = nn.ModuleDict({name: nn.Linear(widths[name], cfg.gloss_vocab_size) for name in cfg.gloss_heads})
        self.register_buffer("mean", torch.tensor(cfg.pixel_mean).view(1, 1, 3, 1, 1) * 255, persistent=False)
        self.register_buffer("std", torch.tensor(cfg.pixel_std).view(1, 1, 3, 1, 1) * 255, persistent=False)

    # -- the fixed vocabulary every isltk model answers --------------------------------------------
    def normalize(self, frames_uint8: torch.Tensor) -> torch.Tensor:
        """(B, T, H, W, 3) uint8 -> (B, T, 3, H, W) float, normalised as the backbone expects (on the model's device)."""
        frames = frames_uint8.permute(0, 1, 4, 2, 3).float()
        return (frames - self.mean) / self.std

    def model_input(self, batch_frames: torch.Tensor) -> torch.Tensor:
        """A loader's batch as the model takes it: uint8 frames are normalised; cached ViT features
        (B, T, D) from the frozen-backbone fast path pass through as float."""
        return self.normalize(batch_frames) if batch_frames.dtype == torch.uint8 else batch_frames.float()

    def batch_inputs(self, batch: dict[str, torch.Tensor], device: torch.device | str) -> ModelInputs:
        """A loader's batch (isltk.data.dataset.collate) moved to `device` as the model's inputs: frames normalised
        (None for a keypoints-only model), the frame mask, and the streams beside the frames (None without them)."""
        frames = batch.get("frames")
        for name, module in (("keypoints", self.keypoints), ("hands", self.hands)):
            if module is not None and name not in batch:
                raise ValueError(f"this model reads {name}, and the batch has none (a cache prepared without "
                                 f"data.{'keypoints' if name == 'keypoints' else 'hand_crop_px'}?)")

        def moved(name: str) -> torch.Tensor:
            return batch[name].to(device, non_blocking=True)

        streams = None
        if self.keypoints is not None or self.hands is not None:
            hands = self.normalize(moved("hands").flatten(1, 2)).unflatten(1, batch["hands"].shape[1:3]) if self.hands else None
            streams = Streams(moved("keypoints") if self.keypoints is not None else None, hands,
                              moved("hands_found") if self.hands is not None else None)
        frames = self.model_input(frames.to(device, non_blocking=True)) if self.encoder is not None and frames is not None else None
        return ModelInputs(frames, moved("frame_mask"), streams)

    def forward_temporal(self, frames: torch.Tensor | None, frame_mask: torch.Tensor, motion_dropout: float = 0.0,
                         streams: Streams | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised frames (B, T, 3, H, W), or cached per-frame features (B, T, D), and/or the streams beside them
        (keypoints, hand crops) -> temporal features (B, T', D) and their mask (B, T')."""
        return self._encode(frames, frame_mask, motion_dropout, streams)[1:]

    def _encode(self, frames: torch.Tensor | None, frame_mask: torch.Tensor, motion_dropout: float = 0.0,
                streams: Streams | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(per-frame features (B, T, D), temporal features (B, T', D'), their mask (B, T'))."""
        keep = self.motion_keep(frame_mask.shape[0], frame_mask.device, motion_dropout)
        parts = []
        if self.encoder is not None:
            if frames is None:
                raise ValueError("this model reads frames, and none were given")
            parts.append(frames * frame_mask[..., None] if frames.dim() == 3 else self.encoder(frames, frame_mask, keep))
        if (self.keypoints is not None or self.hands is not None) and streams is None:
            raise ValueError("this model reads keypoints or hand crops, and none were given")
        if self.keypoints is not None:
            parts.append(self.keypoints(streams.keypoints, frame_mask))
        if self.hands is not None:
            parts.append(self.hands(streams.hands, streams.hands_found, frame_mask))
        features = parts[0]
        for part in parts[1:]:
            features = features + part.to(features.dtype)
        return features, *self.temporal(features, frame_mask, keep)

    def motion_keep(self, batch: int, device: torch.device, p: float) -> torch.Tensor | None:
        """Motion dropout (`training.augmentation.motion_dropout` = p; in training mode only): (B,) 1 for clips that keep their
        motion inputs, 0 for clips shown without them. A sentence clip without motion still tells its signs frame
        by frame, so it teaches the model to read hand shape and place from appearance — the only thing a held
        sign offers. An augmentation, not part of the model's shape: the trainer's step passes it."""
        if not self.training or p <= 0:
            return None
        return (torch.rand(batch, device=device) >= p).float()

    def forward_features(self, frames: torch.Tensor | None, frame_mask: torch.Tensor,
                         streams: Streams | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised frames and/or the streams beside them -> decoder memory tokens (B, M, D) and their mask (B, M)."""
        return self.pooling(*self.forward_temporal(frames, frame_mask, streams=streams))

    def forward(self, frames: torch.Tensor | None, frame_mask: torch.Tensor, tokens: torch.Tensor,
                motion_dropout: float = 0.0, streams: Streams | None = None) -> TranslatorOutput:
        """Teacher-forced logits for tokens[:, :-1] predicting tokens[:, 1:], and gloss logits if any."""
        frame_features, features, mask = self._encode(frames, frame_mask, motion_dropout, streams)
        memory, memory_mask = self.pooling(features, mask)
        steps = {"temporal": (features, mask), "frame": (frame_features, frame_mask), "memory": (memory, memory_mask)}
        glosses = {name: GlossLogits(head(steps[name][0]), steps[name][1]) for name, head in self.gloss_heads.items()}
        return TranslatorOutput(self.decoder(tokens[:, :-1], memory, memory_mask), glosses, self.cfg.ordered_glosses)

    @torch.no_grad()
    def translate(self, frames: torch.Tensor | None, frame_mask: torch.Tensor, beam_size: int = 1, alpha: float = 1.0,
                  max_length: int | None = None, streams: Streams | None = None) -> list[Hypothesis]:
        return self.translate_memory(*self.forward_features(frames, frame_mask, streams), beam_size, alpha, max_length)

    @torch.no_grad()
    def translate_memory(self, memory: torch.Tensor, memory_mask: torch.Tensor, beam_size: int = 1, alpha: float = 1.0,
                         max_length: int | None = None) -> list[Hypothesis]:
        """Decode already-encoded clips: validation scores and decodes one encoding, a beam sweep reuses it."""
        max_length = max_length or self.cfg.decoder.max_length
        step = no_degenerate_repetition(never_emit(self.decoder, (PAD_ID, UNK_ID, BOS_ID)))
        if beam_size == 1:
            return greedy_search(step, memory, memory_mask, BOS_ID, EOS_ID, max_length)
        nbest = beam_search(step, memory, memory_mask, BOS_ID, EOS_ID, max_length, beam_size, alpha)
        return [hypotheses[0] for hypotheses in nbest]

    @torch.no_grad()
    def recognize_glosses(self, features: torch.Tensor, mask: torch.Tensor) -> list[list[int]]:
        """Greedy CTC decoding of the gloss head on temporal features: best class per step, repeats merged,
        blanks (0) dropped. Empty lists without a gloss head."""
        if "temporal" not in self.gloss_heads or not self.cfg.ordered_glosses:
            return [[] for _ in range(features.shape[0])]
        best = self.gloss_heads["temporal"](features).argmax(-1).masked_fill(~mask, 0).tolist()
        return [collapse_ctc(row) for row in best]

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        if self.encoder is not None:
            self.encoder.set_grad_checkpointing(enable)

    def set_frozen(self, frozen: bool) -> None:
        """Freeze (or thaw) the ViT; a keypoints-only model has none."""
        if self.encoder is not None:
            self.encoder.set_frozen(frozen)

    def no_weight_decay(self) -> set[str]:
        return {f"encoder.{name}" for name in self.encoder.no_weight_decay()} if self.encoder is not None else set()


def build_model(cfg: ModelConfig, load_weights: bool = True) -> SignTranslator:
    model = SignTranslator(cfg)
    if load_weights and cfg.encoder.pretrained and model.encoder is not None:
        load_pretrained(model.encoder.vit, cfg.encoder.pretrained)
    if cfg.encoder.grad_checkpointing:
        model.set_grad_checkpointing(True)
    return model


class Streams(NamedTuple):
    """What the model reads per frame beside the pixels; a field is None where the model does not read it."""

    keypoints: torch.Tensor | None  # (B, T, P, C) normalised keypoints (isltk.data.keypoints)
    hands: torch.Tensor | None  # (B, T, 2, 3, S, S) normalised hand crops, left then right (isltk.data.hands)
    hands_found: torch.Tensor | None  # (B, T, 2) bool


class ModelInputs(NamedTuple):
    """What the model reads of a batch (`SignTranslator.batch_inputs`); call the model as model(*inputs[:2], tokens,
    streams=inputs.streams), or take forward_features(*inputs)."""

    frames: torch.Tensor | None  # normalised (B, T, 3, H, W) or cached features (B, T, D); None without pixels
    frame_mask: torch.Tensor  # (B, T)
    streams: Streams | None  # keypoints and hand crops; None when the model reads pixels alone


def example_batch(cfg: ModelConfig, batch: int, frames: int, target_tokens: int,
                  device: torch.device | str | None = None) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """A batch shaped as the loader feeds it (uint8 frames (B, T, H, W, 3), an all-valid frame mask (B, T), keypoints
    (B, T, P, C) where the model reads them) and target ids (B, target_tokens). For measuring parameters, FLOPs,
    memory and speed (the summary, the memory trace, the GPU probe): the values mean nothing, the shapes and dtypes
    are the step's. Pass the batch through `SignTranslator.batch_inputs`."""
    loaded = {"frame_mask": torch.ones(batch, frames, dtype=torch.bool, device=device)}
    if cfg.pixels:
        loaded["frames"] = torch.zeros(batch, frames, cfg.image_size, cfg.image_size, 3, dtype=torch.uint8, device=device)
    if cfg.keypoint_points:
        loaded["keypoints"] = torch.zeros(batch, frames, cfg.keypoint_points, cfg.keypoint_channels, device=device)
    if cfg.hand_crop_px:
        side = cfg.hand_crop_px
        loaded["hands"] = torch.zeros(batch, frames, 2, side, side, 3, dtype=torch.uint8, device=device)
        loaded["hands_found"] = torch.ones(batch, frames, 2, dtype=torch.bool, device=device)
    return loaded, torch.full((batch, target_tokens), UNK_ID, dtype=torch.long, device=device)
