"""The model summary (isltk/models/summary.py): parameters and FLOPs."""



from isltk.models.presets import preset_model_config
from isltk.models.summary import summarize


def test_summary_counts_flops_with_the_flop_counter() -> None:
    summary = summarize(preset_model_config("dense_vit"), frames=16)
    assert summary.parameters["encoder"] == 303_301_632
    # ViT-L/16 at 224 px: ~123 GFLOP forward per frame; training ~3x forward
    assert 16 * 120 < summary.forward_gflop_per_clip < 16 * 130
    assert 2.8 < summary.train_gflop_per_clip / summary.forward_gflop_per_clip < 3.2


