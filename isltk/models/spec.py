"""The model a config trains, built once: the one place that turns (config, vocabulary sizes) into a
`ModelConfig`, so train, check-hardware, the GPU probe and the summary count the same parameters.

Vocabulary sizes come from the prepared cache when there is one (the target vocabulary, and the gloss
vocabulary when the gloss losses are on); before `prepare` they are reference sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

from isltk.config import Config
from isltk.data import cache
from isltk.errors import DataError
from isltk.models.translator import ModelConfig

REFERENCE_VOCAB = 8000  # decoder size when the vocabulary is not known yet (before prepare)
REFERENCE_GLOSS_VOCAB = 1000  # gloss heads' size before prepare, when the config trains them


@dataclass(frozen=True)
class VocabularySizes:
    target: int
    gloss: int  # 0: no gloss heads


def vocabulary_sizes(config: Config) -> VocabularySizes:
    """The sizes `train` would use: read from data.prepared_dir when it holds a complete cache."""
    prepared = config.data.prepared_dir
    wants_glosses = config.training.gloss_loss_weight > 0
    if cache.is_complete(prepared):
        try:
            target = len(cache.load_text_vocabulary(prepared))
            glosses = cache.load_gloss_vocabulary(prepared) if wants_glosses else None
            return VocabularySizes(target, len(glosses) if glosses else 0)
        except DataError:  # an unreadable vocabulary: plan with reference sizes; train names the problem
            pass
    return VocabularySizes(REFERENCE_VOCAB, REFERENCE_GLOSS_VOCAB if wants_glosses else 0)


def model_config(config: Config, sizes: VocabularySizes | None = None) -> ModelConfig:
    """The ModelConfig `train` builds for this config (sizes default to `vocabulary_sizes(config)`)."""
    sizes = sizes or vocabulary_sizes(config)
    return ModelConfig.from_config(config, sizes.target, sizes.gloss)
