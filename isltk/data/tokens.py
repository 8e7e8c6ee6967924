"""What every isltk vocabulary shares: the special tokens and their fixed ids, how a target is wrapped
and unwrapped, and the calls training, validation and inference make of a vocabulary.

The word vocabulary (`isltk.data.vocab`) and the subword one (`isltk.data.subword`) both build on this
module; the model reads the ids from here too, so they are written once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)
PAD_ID, UNK_ID, BOS_ID, EOS_ID = range(len(SPECIALS))


def wrap_target(ids: list[int], max_length: int | None) -> list[int]:
    """BOS + ids + EOS, the ids cut so that the whole fits max_length (EOS always kept)."""
    if max_length is not None:
        ids = ids[: max(0, max_length - 2)]
    return [BOS_ID, *ids, EOS_ID]


def content_ids(ids: Iterable[int]) -> list[int]:
    """A decoded sequence's ids up to EOS, without PAD and BOS."""
    out = []
    for i in ids:
        if i == EOS_ID:
            break
        if i not in (PAD_ID, BOS_ID):
            out.append(i)
    return out


class TextVocabulary(Protocol):
    """What training, validation and inference need of a vocabulary, whichever kind it is."""

    kind: str
    tokens: tuple[str, ...]

    def __len__(self) -> int: ...
    def target_ids(self, record: dict, max_length: int | None = None) -> list[int]: ...
    def display_text(self, ids: Iterable[int]) -> str: ...
    def normalized_text(self, ids: Iterable[int]) -> str: ...
    def to_json(self) -> str: ...
