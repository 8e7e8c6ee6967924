"""The sentence decoder (isltk/models/decoder.py): its loss."""


import torch


def test_label_smoothing_puts_no_mass_on_pad() -> None:
    from isltk.models.decoder import sequence_loss

    logits = torch.randn(2, 3, 7, requires_grad=True)
    targets = torch.tensor([[4, 5, 0], [6, 0, 0]])
    loss, count = sequence_loss(logits, targets, pad_id=0, label_smoothing=0.2)
    loss.backward()
    assert int(count) == 3
    probs = logits.detach().softmax(-1)
    valid = targets != 0
    # d loss / d logit = p - target distribution: at the PAD column the target mass must be zero
    assert torch.allclose(logits.grad[..., 0][valid], probs[..., 0][valid], atol=1e-6)
    assert torch.all(logits.grad[~valid] == 0)


