"""Word vocabulary built from the train split only (val/test words never leak into it).

Every isltk vocabulary (this word-level one, `isltk.data.subword.SubwordVocabulary`) answers the same
calls: `target_ids(record)` (training targets from a manifest record), `display_text(ids)` (what a
user reads), `normalized_text(ids)` (what validation BLEU compares with `text_norm`), `tokens`,
`to_json()`; `load_vocabulary` / `vocabulary_from_json` read either kind.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from isltk.data.subword import SubwordVocabulary
from isltk.data.text import detokenize, tokenize
from isltk.data.tokens import (  # noqa: F401 (re-exported: the vocabulary module is where callers look)
    BOS,
    BOS_ID,
    EOS,
    EOS_ID,
    PAD,
    PAD_ID,
    SPECIALS,
    UNK,
    UNK_ID,
    TextVocabulary,
    content_ids,
    wrap_target,
)
from isltk.errors import DataError


@dataclass(frozen=True)
class Vocabulary:
    tokens: tuple[str, ...]
    kind = "word"

    def __post_init__(self) -> None:
        if tuple(self.tokens[: len(SPECIALS)]) != SPECIALS:
            raise DataError(f"vocabulary must start with {SPECIALS}")
        object.__setattr__(self, "_index", {t: i for i, t in enumerate(self.tokens)})

    pad_id = 0
    unk_id = 1
    bos_id = 2
    eos_id = 3

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, words: list[str], max_length: int | None = None) -> list[int]:
        """BOS + ids + EOS, truncated so the whole fits max_length (EOS always kept)."""
        return wrap_target([self._index.get(w, self.unk_id) for w in words], max_length)  # type: ignore[attr-defined]

    def target_ids(self, record: dict, max_length: int | None = None) -> list[int]:
        """BOS + the words of a manifest record's normalised sentence + EOS (unknown words: <unk>)."""
        return self.encode(tokenize(record["text_norm"]), max_length)

    def normalized_text(self, ids: Iterable[int]) -> str:
        """Token ids -> the normalised (space-separated, lower-cased) text that BLEU is computed on."""
        return " ".join(self.decode(ids))

    def display_text(self, ids: Iterable[int]) -> str:
        """Token ids -> readable text: punctuation reattached, first letter capitalised."""
        return detokenize(self.decode(ids))

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.tokens[i] for i in content_ids(ids)]

    @classmethod
    def build(cls, sentences: Iterable[list[str]], min_count: int = 1) -> Vocabulary:
        counts = Counter(w for words in sentences for w in words)
        kept = sorted((w for w, c in counts.items() if c >= min_count and w not in SPECIALS), key=lambda w: (-counts[w], w))
        return cls(SPECIALS + tuple(kept))

    def to_json(self) -> str:
        return json.dumps({"tokens": list(self.tokens)}, ensure_ascii=False, indent=0)

    @classmethod
    def from_list(cls, tokens: list[str]) -> Vocabulary:
        return cls(tuple(tokens))

    @classmethod
    def load(cls, path: Path) -> Vocabulary:
        try:
            return cls.from_list(json.loads(path.read_text(encoding="utf-8"))["tokens"])
        except FileNotFoundError:
            raise DataError(f"{path}: vocabulary not found; run `isltk prepare` first") from None
        except (KeyError, ValueError) as exc:
            raise DataError(f"{path}: not a valid vocabulary file ({exc})") from None


def vocabulary_from_json(text: str, source: str = "vocabulary") -> TextVocabulary:
    """Either kind of vocabulary from its `to_json()` text (vocab.json, or a checkpoint's meta.json)."""
    try:
        data = json.loads(text)
        if data.get("kind") == "bpe":
            return SubwordVocabulary(data["tokenizer"], bool(data["lowercase"]))
        return Vocabulary.from_list(data["tokens"])
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise DataError(f"{source}: not a valid vocabulary ({type(exc).__name__}: {exc})") from None


def load_vocabulary(path: Path) -> TextVocabulary:
    """The prepared cache's vocabulary (vocab.json), word-level or subword."""
    try:
        return vocabulary_from_json(path.read_text(encoding="utf-8"), str(path))
    except FileNotFoundError:
        raise DataError(f"{path}: vocabulary not found; run `isltk prepare` first") from None
