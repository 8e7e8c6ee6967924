"""Word vocabulary built from the train split only (val/test words never leak into it)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from isltk.errors import DataError

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)


@dataclass(frozen=True)
class Vocabulary:
    tokens: tuple[str, ...]

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
        ids = [self._index.get(w, self.unk_id) for w in words]  # type: ignore[attr-defined]
        if max_length is not None:
            ids = ids[: max(0, max_length - 2)]
        return [self.bos_id, *ids, self.eos_id]

    def decode_text(self, ids: Iterable[int]) -> str:
        """Token ids -> the normalised (space-separated, lower-cased) text that BLEU is computed on."""
        return " ".join(self.decode(ids))

    def decode(self, ids: Iterable[int]) -> list[str]:
        words = []
        for i in ids:
            if i == self.eos_id:
                break
            if i in (self.pad_id, self.bos_id):
                continue
            words.append(self.tokens[i])
        return words

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
