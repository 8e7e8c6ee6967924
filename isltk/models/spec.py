"""The model a config trains, built once: the one place that turns (config, vocabulary sizes) into a
`ModelConfig`, so train, check-hardware, the GPU probe and the summary count the same parameters.

Vocabulary sizes come from the prepared cache when there is one (the target vocabulary, and the sign
labels the gloss losses learn: glosses or pseudo-glosses, `isltk.data.supervision`); before `prepare` they
are reference sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

from isltk.config import Config
from isltk.data import cache
from isltk.data.inputs import resolve as resolve_inputs
from isltk.data.supervision import run_sign_labels
from isltk.errors import IsltkError
from isltk.models.translator import ModelConfig

REFERENCE_VOCAB = 8000  # decoder size when the vocabulary is not known yet (before prepare)
REFERENCE_GLOSS_VOCAB = 1000  # gloss heads' size before prepare (glosses assumed, so a CTC head is counted)


@dataclass(frozen=True)
class VocabularySizes:
    target: int
    gloss: int  # sign label classes; 0: no gloss heads
    ordered_glosses: bool = True  # real glosses (a CTC head may read them), not pseudo-glosses


def vocabulary_sizes(config: Config) -> VocabularySizes:
    """The sizes `train` would use: read from data.prepared_dir when it holds a complete cache."""
    prepared, choice = config.data.prepared_dir, config.training.supervision
    if cache.is_complete(prepared):
        try:
            labels = run_sign_labels(config)
            return VocabularySizes(len(cache.load_text_vocabulary(prepared)), labels.size, labels.ordered)
        except IsltkError:  # an unreadable cache: plan with reference sizes; train names the problem
            pass
    return VocabularySizes(REFERENCE_VOCAB, 0 if choice == "none" else REFERENCE_GLOSS_VOCAB, choice != "pseudo_glosses")


def model_config(config: Config, sizes: VocabularySizes | None = None) -> ModelConfig:
    """The ModelConfig `train` builds for this config (sizes default to `vocabulary_sizes(config)`)."""
    sizes = sizes or vocabulary_sizes(config)
    config = resolve_inputs(config).config  # data.keypoints auto: the streams prepare chose (or would choose)
    return ModelConfig.from_config(config, sizes.target, sizes.gloss, sizes.ordered_glosses)
