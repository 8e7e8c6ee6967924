"""Per-frame dense Vision Transformer (timm's VisionTransformer) applied to every frame of a clip.

All frames of all clips in a batch go through the ViT as one batch of images; padded frames of
short clips are zeroed before anything downstream sees them.
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch
from timm.layers import PatchEmbed
from timm.models.vision_transformer import VisionTransformer, checkpoint_filter_fn
from torch import nn

from isltk.config import EncoderConfig
from isltk.errors import CheckpointError
from isltk.models.masked import clip_mean


class _ChannelsLastStem(PatchEmbed):
    """Runs the conv stack on channels-last images: oneDNN's CPU convolutions then skip a layout reorder per
    conv, 2.0x (72 px) and 1.6x (96 px) faster stem forward + backward on 2 CPU cores (benchmarks/bench_stem.py);
    the output tokens are the same. On CUDA it is the layout tensor-core convolutions prefer (not measured
    here: no GPU)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.contiguous(memory_format=torch.channels_last))


class PooledConvStemPatchEmbed(_ChannelsLastStem):
    """A conv stem that keeps fine detail: a 3x3 stride-2 conv, then two 3x3 convs each followed by 2x2 max
    pooling (ReLU after each conv), then a patch_size/8 conv to the ViT width and one GroupNorm. Max pooling
    keeps a small feature (a finger ~1.5 px wide at 72 px) at full strength wherever in its cell it falls, so
    a hand shape reads the same when an unseen signer holds it a few pixels away; no normalisation between
    the convs, where a per-image statistic comes from the body and background rather than the hand. The
    final GroupNorm centres the patch embeddings over the image: without it the ReLU/max-pool outputs share
    a large positive offset, every frame's features came out nearly alike (variance 5e-4 after 600 steps of
    the learning test) and evaluation, which standardises with running statistics, collapsed (val BLEU-4
    0.6). Measured on held greetings of unseen signers: benchmarks/bench_hand_shape.py. Needs patch_size % 8 == 0."""

    def __init__(self, *args, width: int = 0, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        in_chans, dim, patch = self.proj.in_channels, self.proj.out_channels, self.patch_size[0]
        width = width or max(16, dim // 4)
        self.proj = nn.Sequential(
            nn.Conv2d(in_chans, width, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(2 * width, 4 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(4 * width, dim, patch // 8, stride=patch // 8), nn.GroupNorm(8 if dim % 8 == 0 else 1, dim),
        )


def stem_layer(encoder: EncoderConfig) -> type[PatchEmbed] | functools.partial:
    if encoder.conv_stem == "pooled":
        return functools.partial(PooledConvStemPatchEmbed, width=encoder.conv_stem_width)
    return PatchEmbed


def build_vit(encoder: EncoderConfig, image_size: int) -> VisionTransformer:
    return VisionTransformer(
        embed_layer=stem_layer(encoder),
        img_size=image_size,
        in_chans=6 if encoder.motion_channels else 3,
        patch_size=encoder.patch_size,
        embed_dim=encoder.vit_hidden_dim,
        depth=encoder.vit_num_layers,
        num_heads=encoder.vit_num_heads,
        mlp_ratio=encoder.vit_mlp_dim / encoder.vit_hidden_dim,
        num_classes=0,
        global_pool="" if encoder.frame_pool == "flatten" else "token",
        drop_path_rate=encoder.drop_path_rate,
    )


def with_motion_channels(frames: torch.Tensor, frame_mask: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
    """(B, T, 3, H, W) -> (B, T, 6, H, W): each frame and its difference from the clip's mean frame.

    The difference keeps only what moves (the hands, in place), whatever the signer's clothes,
    background or lighting; the frame itself keeps what is held still. Padded frames stay out of the mean.
    `keep` (B,) in {0, 1} zeroes the differences of the clips marked 0 (motion dropout in training)."""
    weights = frame_mask[:, :, None, None, None].to(frames.dtype)
    mean, _ = clip_mean(frames, weights)
    if keep is not None:
        weights = weights * keep.to(frames.dtype)[:, None, None, None, None]
    return torch.cat([frames, (frames - mean) * weights], dim=2)


class VideoEncoder(nn.Module):
    """(B, T, 3, H, W) frames + (B, T) validity mask -> (B, T, D) per-frame features (zeros where padded)."""

    def __init__(self, encoder: EncoderConfig, image_size: int) -> None:
        super().__init__()
        self.vit = build_vit(encoder, image_size)
        for module in self.vit.modules():  # timm's Attention picks F.scaled_dot_product_attention by this flag
            if hasattr(module, "fused_attn"):
                module.fused_attn = encoder.fused_attention
        self.out_dim = encoder.vit_hidden_dim
        self.motion_channels = encoder.motion_channels
        self.flatten = None
        if encoder.frame_pool == "flatten":
            # Keep the patch grid: *where* a small hand is, and its shape, survive (an average over 64
            # patches of which the hand covers one or two does not learn, measured in the README).
            patches = (image_size // encoder.patch_size) ** 2
            self.out_dim = encoder.frame_dim or encoder.vit_hidden_dim
            self.flatten = nn.Linear(patches * encoder.vit_hidden_dim, self.out_dim)

    def forward(self, frames: torch.Tensor, frame_mask: torch.Tensor, motion_keep: torch.Tensor | None = None) -> torch.Tensor:
        if self.motion_channels:
            frames = with_motion_channels(frames, frame_mask, motion_keep)
        batch, time = frames.shape[:2]
        # Every frame is encoded and padded ones are zeroed afterwards: no data-dependent shapes, so the
        # step stays torch.compile- and meta-device-friendly. The cache stores a fixed frame count per
        # clip, so padding (and its wasted compute) only occurs for clips of other lengths.
        images = frames.reshape(batch * time, *frames.shape[2:])
        if self.flatten is not None:
            tokens = self.vit.forward_features(images)[:, self.vit.num_prefix_tokens :]
            features = self.flatten(tokens.flatten(1)).reshape(batch, time, -1)
        else:
            features = self.vit(images).reshape(batch, time, -1)
        return features * frame_mask[..., None].to(features.dtype)

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        self.vit.set_grad_checkpointing(enable)

    def set_frozen(self, frozen: bool) -> None:
        for parameter in self.vit.parameters():
            parameter.requires_grad_(not frozen)

    def no_weight_decay(self) -> set[str]:
        return {f"vit.{name}" for name in self.vit.no_weight_decay()}


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # weights_only refuses pickled code: say so instead of running it
        raise CheckpointError(f"{path}: cannot load as plain weights ({type(exc).__name__}); use .safetensors or a tensor-only file") from None
    for key in ("model", "state_dict", "model_state_dict"):
        if isinstance(state, dict) and key in state and isinstance(state[key], dict):
            state = state[key]
    return state


def load_pretrained(vit: VisionTransformer, source: str) -> None:
    """Initialise from a local timm/safetensors file, or a timm pretrained tag (downloads; needs network)."""
    path = Path(source)
    if path.exists():
        state = _read_state_dict(path)
        origin = str(path)
    else:
        import timm

        if timm.models.get_pretrained_cfg(source) is None:
            raise CheckpointError(f"encoder.pretrained: {source!r} is neither a file nor a timm pretrained tag "
                                  "(see timm.list_pretrained('vit_large*'))")
        try:
            state = timm.create_model(source, pretrained=True, num_classes=0).state_dict()
        except Exception as exc:
            raise CheckpointError(
                f"encoder.pretrained: cannot download timm weights {source!r} ({type(exc).__name__}: offline?). On a machine "
                f"with internet run: python -c \"import timm, safetensors.torch as st; st.save_file(timm.create_model("
                f"'{source}', pretrained=True).state_dict(), 'vit.safetensors')\" then copy the file here and set "
                "encoder.pretrained=/path/to/vit.safetensors"
            ) from None
        origin = f"timm:{source}"
    state = checkpoint_filter_fn({k: v for k, v in state.items() if not k.startswith("head.")}, vit)
    own = vit.state_dict()
    wrong = [f"{k} {tuple(v.shape)} vs {tuple(own[k].shape)}" for k, v in state.items() if k in own and own[k].shape != v.shape]
    missing = sorted(set(own) - set(state))
    if wrong or missing:
        detail = "; ".join(wrong[:3]) or f"missing {missing[:3]}"
        raise CheckpointError(
            f"{origin}: weights do not fit the configured ViT (encoder.vit_*/patch_size/data.image_size): {detail}"
        )
    vit.load_state_dict({k: v for k, v in state.items() if k in own})
