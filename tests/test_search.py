"""Greedy and beam search (isltk/models/search.py)."""

import math

import torch

from isltk.models.search import beam_search, greedy_search
from isltk.models.translator import BOS_ID, EOS_ID
from tests.conftest import clip_batch, tiny_model


def test_beam_of_one_equals_greedy() -> None:
    model = tiny_model(seed=3)
    video, mask = clip_batch(5, 8, seed=1)
    memory, memory_mask = model.forward_features(video, mask)
    greedy = greedy_search(model.decoder, memory, memory_mask, BOS_ID, EOS_ID, 12)
    beam = beam_search(model.decoder, memory, memory_mask, BOS_ID, EOS_ID, 12, beam_size=1, alpha=1.0)
    assert [h.tokens for h in greedy] == [hyps[0].tokens for hyps in beam]
    assert any(len(h.tokens) > 0 for h in greedy)


def test_beam_scores_are_finite_and_ordered() -> None:
    model = tiny_model(seed=4)
    video, mask = clip_batch(3, 8, seed=2)
    memory, memory_mask = model.forward_features(video, mask)
    for hyps in beam_search(model.decoder, memory, memory_mask, BOS_ID, EOS_ID, 10, beam_size=4, alpha=0.6):
        scores = [h.score for h in hyps]
        assert len(scores) >= 4 and all(math.isfinite(s) for s in scores)
        assert scores == sorted(scores, reverse=True)


def scripted_step(tokens: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Next-token log-probabilities by prefix: 'a a' is the best sentence once lengths are normalised."""
    a, b = 4, 5
    table = {(): {EOS_ID: 0.31, b: 0.29, a: 0.4}, (a,): {EOS_ID: 0.1, a: 0.9}, (b,): {EOS_ID: 0.9, a: 0.1}}
    out = torch.full((tokens.shape[0], tokens.shape[1], 6), -30.0)
    for row, prefix in enumerate(tokens[:, 1:].tolist()):
        for token, p in table.get(tuple(prefix), {EOS_ID: 0.99, a: 0.01}).items():
            out[row, -1, token] = math.log(p)
    return out


def test_beam_search_keeps_a_live_beam_that_can_still_win_under_the_length_penalty() -> None:
    memory, mask = torch.zeros(1, 1, 4), torch.ones(1, 1, dtype=torch.bool)
    # two hypotheses ('' and 'b') finish by step 2, but with alpha = 1 the live 'a a' scores better when it ends
    best = beam_search(scripted_step, memory, mask, BOS_ID, EOS_ID, max_length=10, beam_size=2, alpha=1.0)[0][0]
    assert best.tokens == [4, 4]


def test_translations_never_contain_pad_bos_or_unk() -> None:
    from isltk.models.search import never_emit

    def prefers_specials(tokens: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        logits = torch.full((tokens.shape[0], tokens.shape[1], 6), -5.0)
        logits[..., :3] = 5.0  # PAD, UNK, BOS the most likely
        logits[..., 4] = 1.0
        logits[..., EOS_ID] = 1.0 if tokens.shape[1] > 3 else -5.0
        return logits

    memory, mask = torch.zeros(2, 1, 4), torch.ones(2, 1, dtype=torch.bool)
    step = never_emit(prefers_specials, (0, 1, BOS_ID))
    assert greedy_search(step, memory, mask, BOS_ID, EOS_ID, 8)[0].tokens == [4, 4, 4]
    assert beam_search(step, memory, mask, BOS_ID, EOS_ID, 8, 3, 0.0)[0][0].tokens == [4, 4, 4]
    assert {0, 1, 2} & set(greedy_search(prefers_specials, memory, mask, BOS_ID, EOS_ID, 8)[0].tokens)  # unmasked, it would


def test_no_word_three_times_in_a_row_and_no_three_words_twice() -> None:
    """A clip unlike the training data made the model repeat one word up to the length limit."""
    from isltk.models.search import no_degenerate_repetition

    def repeats_forever(tokens: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        logits = torch.full((tokens.shape[0], tokens.shape[1], 7), -5.0)
        logits[..., 4] = 5.0  # "tomorrow", always the most likely
        logits[..., 5] = 1.0
        logits[..., EOS_ID] = 2.0 if tokens.shape[1] > 4 else -5.0
        return logits

    memory, mask = torch.zeros(2, 1, 4), torch.ones(2, 1, dtype=torch.bool)
    assert greedy_search(repeats_forever, memory, mask, BOS_ID, EOS_ID, 10)[0].tokens == [4] * 9  # unguarded
    step = no_degenerate_repetition(repeats_forever)
    assert greedy_search(step, memory, mask, BOS_ID, EOS_ID, 10)[0].tokens == [4, 4, 5, 4, 4]  # then EOS wins
    assert beam_search(step, memory, mask, BOS_ID, EOS_ID, 10, 3, 0.0)[0][0].tokens[:3] == [4, 4, 5]
    from isltk.models.search import repeating_tokens

    def banned(prefixes: list[list[int]]) -> list[set[int]]:
        rows = repeating_tokens(torch.tensor(prefixes), 10, 2, 3)
        return [set(row.nonzero().flatten().tolist()) for row in rows]

    assert banned([[4, 4], [4, 5]]) == [{4}, set()]
    assert banned([[7, 4, 4, 7, 4], [1, 2, 3, 4, 5]]) == [{4}, set()]  # "7 4 4" would come again
    assert banned([[6, 7, 8, 6, 7]]) == [{8}]
    assert banned([[6, 7, 8, 6, 7, 9, 6, 7]]) == [{8, 9}]
    assert banned([[3]]) == [set()]
