"""What names the signs of a training clip, besides its sentence: the corpus's glosses, or pseudo-glosses.

The losses that reach the encoder directly (CTC, and the frame- and memory-level multiple-instance losses,
`isltk.models.objective`) need per-clip sign labels. A corpus with a gloss column (or PHOENIX's orth) has
them. The corpora ISL research holds (iSign, ISLTranslate, a folder of clips with a CSV of English) have
only the sentence, so the labels are derived from it: its content words, lemmatised ("saw", "sees" ->
"see"), without the words no sign language signs (articles, the copula, do-support) and without words too
frequent to tell one clip from another. A sentence's words come in English order, not signing order, so
`SignLabels.ordered` is false for pseudo-glosses and the objective trains them without assuming an order
(`isltk.models.objective`); CTC in the labels' own order is for real glosses.

Pseudo-glosses are derived here from the cache's manifest at training time (the same function for
`prepare`'s report and `train`), so changing these rules never needs the videos decoded again.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from isltk.config import Config
from isltk.data import cache
from isltk.data.vocab import SPECIALS, Vocabulary
from isltk.errors import ConfigError

SupervisionChoice = Literal["auto", "glosses", "pseudo_glosses", "none"]
SupervisionKind = Literal["glosses", "pseudo_glosses", "none"]

# Words sign languages (ISL included) do not sign: articles, the copula and auxiliary "be", do-support, and
# the infinitive/of particles. Lemmas, so "is", "were", "did" and "does" are covered.
UNSIGNED_WORDS = frozenset({"a", "an", "the", "be", "do", "to", "of"})
# A word in more than this share of the training sentences is in the background of most clips: it cannot
# tell clips apart, and as a label it would teach a constant.
MAX_SENTENCE_SHARE = 0.5
# A word in fewer training sentences than this cannot be learnt from pixels (and keeps the heads small on
# iSign's long tail).
MIN_SENTENCES = 2
MAX_LABELS = 4096  # the most frequent words beyond this are dropped (the label heads stay small on 118k clips)

_CLITICS = re.compile(r"n't\b|'(?:s|re|m|ll|ve|d)\b")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@lru_cache(maxsize=200_000)
def lemma(word: str) -> str:
    """The dictionary form of a lower-cased English word ("saw" -> "see", "apples" -> "apple").

    simplemma ships its English lemma table inside the wheel (no download at run time) and needs no
    part-of-speech tagger, which a sentence-level corpus has no use for otherwise."""
    import simplemma

    return simplemma.lemmatize(word, lang="en").lower()


def sentence_words(text: str) -> list[str]:
    """The lemmatised words of an English sentence, in order, function words dropped, and "?" for a question
    (signed too: a question sign or the face) ("Yesterday, she didn't drink the tea." -> yesterday, she, not,
    drink, tea)."""
    text = _CLITICS.sub(lambda m: " not" if m.group(0) == "n't" else "", text.lower().replace("\u2019", "'"))
    words = [w for w in (lemma(w) for w in _WORD.findall(text)) if w not in UNSIGNED_WORDS]
    return words + ["?"] if "?" in text else words


def pseudo_gloss_vocabulary(train_texts: Iterable[str]) -> Vocabulary:
    """The pseudo-gloss classes of a training split: words in at least MIN_SENTENCES and at most
    MAX_SENTENCE_SHARE of its sentences, the MAX_LABELS most frequent. Index 0 (<pad>) takes no part in the
    multiple-instance losses."""
    sentences = [set(sentence_words(text)) for text in train_texts]
    counts = Counter(w for words in sentences for w in words)
    most = MAX_SENTENCE_SHARE * len(sentences)
    kept = [w for w, n in counts.items() if MIN_SENTENCES <= n <= most]
    kept = sorted(kept, key=lambda w: (-counts[w], w))[:MAX_LABELS]
    return Vocabulary.build([kept])


@dataclass(frozen=True)
class SignLabels:
    """The labels a run's encoder losses learn from, and where they come from."""

    kind: SupervisionKind
    vocabulary: Vocabulary | None  # the classes (index 0 = CTC blank / no class); None for "none"
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        tokens = self.vocabulary.tokens if self.vocabulary is not None else ()
        object.__setattr__(self, "_index", {w: i for i, w in enumerate(tokens)})

    @property
    def size(self) -> int:
        """Classes of the label heads, specials included (0 without labels)."""
        return len(self.vocabulary) if self.vocabulary is not None else 0

    @property
    def names(self) -> list[str]:
        return list(self.vocabulary.tokens) if self.vocabulary is not None else []

    @property
    def ordered(self) -> bool:
        """Whether the labels follow signing order (CTC may use them)."""
        return self.kind == "glosses"

    def ids(self, record: dict[str, Any]) -> list[int]:
        """A manifest record's label ids: its glosses in order, or its sentence's known pseudo-glosses."""
        if self.vocabulary is None:
            return []
        if self.kind == "glosses":
            return self.vocabulary.encode(record.get("gloss", "").split())[1:-1]  # no BOS/EOS for CTC
        return [self._index[w] for w in dict.fromkeys(sentence_words(record["text"])) if w in self._index]

    def describe(self) -> str:
        """What `prepare` and `train` print: e.g. 'pseudo-glosses from 57 words'."""
        if self.kind == "glosses":
            return f"glosses ({self.size - len(SPECIALS)} signs)"
        if self.kind == "pseudo_glosses":
            return f"pseudo-glosses from {self.size - len(SPECIALS)} words"
        return "none (translation loss only)"


def sign_labels(records: list[dict[str, Any]], gloss_vocabulary: Vocabulary | None, choice: SupervisionChoice,
                source: str = "the prepared data") -> SignLabels:
    """The labels a run uses: real glosses when the corpus has them (`auto` or `glosses`), else pseudo-glosses
    from the training sentences (`auto` or `pseudo_glosses`), else none. `records` is the cache's manifest."""
    if choice == "none":
        return SignLabels("none", None)
    if choice in ("auto", "glosses") and gloss_vocabulary is not None:
        return SignLabels("glosses", gloss_vocabulary)
    if choice == "glosses":
        raise ConfigError(f"{source}: training.supervision is 'glosses' but the data has no gloss column (or PHOENIX "
                          "orth); set training.supervision to auto (pseudo-glosses from the sentences) or re-run "
                          "`isltk prepare` on data with glosses")
    vocabulary = pseudo_gloss_vocabulary(r["text"] for r in records if r["split"] == "train")
    return SignLabels("pseudo_glosses", vocabulary) if len(vocabulary) > len(SPECIALS) else SignLabels("none", None)


def load_sign_labels(prepared_dir: Path, choice: SupervisionChoice) -> SignLabels:
    """`sign_labels` of a prepared cache (its manifest and gloss vocabulary)."""
    return sign_labels(cache.load_manifest(prepared_dir, "train"), cache.load_gloss_vocabulary(prepared_dir), choice,
                       str(prepared_dir))


def run_sign_labels(config: Config, records: list[dict[str, Any]] | None = None) -> SignLabels:
    """The labels `train` uses for this config: none when every gloss-loss weight is 0. `records`: the manifest
    when the caller holds it (prepare, which has just written it), so it is not read again."""
    t = config.training
    if not t.gloss_losses.active():
        return SignLabels("none", None)
    if records is None:
        return load_sign_labels(config.data.prepared_dir, t.supervision)
    prepared = config.data.prepared_dir
    return sign_labels(records, cache.load_gloss_vocabulary(prepared), t.supervision, str(prepared))
