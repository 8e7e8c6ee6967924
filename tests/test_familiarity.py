"""How far a clip lies from the validation clips (isltk/models/familiarity.py)."""

import torch

from isltk.models.familiarity import MARGIN, Familiarity, clip_vectors, leave_one_out_distances


def test_new_clips_like_the_validation_clips_pass_and_far_ones_warn() -> None:
    generator = torch.Generator().manual_seed(0)
    validation = torch.randn(12, 32, generator=generator) * 3 + 5  # a small split, as tiny corpora have
    familiarity = Familiarity.fit(validation)
    assert familiarity is not None
    new = torch.randn(200, 32, generator=generator) * 3 + 5  # more clips of the same kind
    passed = sum(not familiarity.warning(d) for d in familiarity.distance(new))
    assert passed >= 196  # the threshold comes from held-out distances, not the fitted clips' own
    far = validation[:1] + 40.0  # another picture altogether
    assert familiarity.warning(familiarity.distance(far)[0]).startswith("unlike the clips")
    assert Familiarity.from_dict(familiarity.to_dict()) == familiarity
    assert Familiarity.fit(validation[:2]) is None and Familiarity.from_dict(None) is None


def test_leave_one_out_distances_equal_refitting_without_each_clip() -> None:
    vectors = torch.randn(6, 4, generator=torch.Generator().manual_seed(1)).double()
    expected = []
    for i in range(6):
        others = torch.cat([vectors[:i], vectors[i + 1:]])
        expected.append(float((((vectors[i] - others.mean(0)) / others.std(0)) ** 2).mean()))
    torch.testing.assert_close(leave_one_out_distances(vectors), torch.tensor(expected, dtype=torch.float64))
    threshold = Familiarity.fit(vectors).threshold
    assert abs(threshold - MARGIN * max(expected)) < 1e-9


def test_clip_vectors_average_only_valid_memory_tokens() -> None:
    memory = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    mask = torch.tensor([[True, True, False]])
    torch.testing.assert_close(clip_vectors(memory, mask), torch.tensor([[2.0, 3.0]]))
