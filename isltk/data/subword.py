"""Subword vocabulary: byte-level BPE trained on the train split's sentences (`data.tokenizer: bpe`).

Why HF `tokenizers` with a byte-level BPE (not SentencePiece): every one of the 256 bytes is in the
vocabulary, so *any* sentence - names, numbers, words never seen in training, any script - encodes
with no unknown token and decodes back to exactly the same string (spaces, case and punctuation
included); SentencePiece needs byte fallback plus an identity normaliser and whitespace settings to
promise the same. The whole tokenizer is one JSON string, stored in the prepared cache and inside
every checkpoint's meta.json (no pickles, no side files).

Targets are the CSV's sentences as written (Unicode NFKC, runs of whitespace collapsed, lower-cased
only when `data.lowercase`), so the decoder learns to write punctuation and, when cased, capitals: a
hypothesis is ordinary text, scored against the sentences as written.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable

from isltk.data.text import normalize_text
from isltk.data.tokens import BOS_ID, EOS_ID, PAD_ID, SPECIALS, UNK_ID, content_ids, wrap_target
from isltk.errors import DataError

KIND = "bpe"


def subword_target(text: str, lowercase: bool) -> str:
    """The sentence a subword model learns to write: as written, NFKC, whitespace collapsed."""
    text = " ".join(unicodedata.normalize("NFKC", text).split())
    return text.lower() if lowercase else text


class SubwordVocabulary:
    """Byte-level BPE with isltk's special tokens at ids 0-3 (<pad> <unk> <bos> <eos>)."""

    kind = KIND
    pad_id, unk_id, bos_id, eos_id = PAD_ID, UNK_ID, BOS_ID, EOS_ID

    def __init__(self, serialized: str, lowercase: bool) -> None:
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_str(serialized)
        self.lowercase = lowercase
        size = self.tokenizer.get_vocab_size(with_added_tokens=True)
        self.tokens = tuple(self.tokenizer.id_to_token(i) for i in range(size))
        if self.tokens[: len(SPECIALS)] != SPECIALS:
            raise DataError(f"subword vocabulary must start with {SPECIALS}, not {self.tokens[:4]}")

    def __len__(self) -> int:
        return len(self.tokens)

    @classmethod
    def train(cls, sentences: Iterable[str], vocab_size: int, lowercase: bool) -> SubwordVocabulary:
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

        tokenizer = Tokenizer(models.BPE())
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIALS), show_progress=False,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        tokenizer.train_from_iterator([subword_target(s, lowercase) for s in sentences], trainer)
        return cls(tokenizer.to_str(), lowercase)

    # -- the interface every isltk vocabulary answers ------------------------------------------------
    def target_ids(self, record: dict, max_length: int | None = None) -> list[int]:
        """BOS + the subwords of a manifest record's sentence + EOS, cut to max_length (EOS kept)."""
        return wrap_target(self.tokenizer.encode(subword_target(record["text"], self.lowercase), add_special_tokens=False).ids,
                           max_length)

    def display_text(self, ids: Iterable[int]) -> str:
        """Decoded ids up to EOS, as ordinary text (the byte-level decoder restores spaces exactly)."""
        return self.tokenizer.decode(content_ids(ids), skip_special_tokens=True)

    def normalized_text(self, ids: Iterable[int]) -> str:
        """The decoded sentence normalised as `text_norm` is (validation BLEU compares like with like)."""
        return normalize_text(self.display_text(ids), self.lowercase)

    def to_json(self) -> str:
        return json.dumps({"kind": KIND, "lowercase": self.lowercase, "tokenizer": self.tokenizer.to_str()}, ensure_ascii=False)

