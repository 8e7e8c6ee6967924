from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from isltk.cli.app import app
from isltk.config import Config, load_config
from isltk.errors import ConfigError

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"


@pytest.mark.parametrize("path", sorted(CONFIG_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_validates(path: Path) -> None:
    assert isinstance(load_config(path), Config)


def test_seed_values_in_default_config() -> None:
    cfg = load_config(CONFIG_DIR / "config.yaml")
    enc, tr = cfg.encoder, cfg.training
    assert (enc.vit_num_layers, enc.vit_hidden_dim, enc.vit_num_heads, enc.vit_mlp_dim) == (24, 1024, 16, 4096)
    assert enc.freeze_epochs == 0 and cfg.temporal.num_temporal_conv == 4 and cfg.temporal.dropout == 0.2
    opt = tr.optimizer
    assert (tr.num_epochs, tr.batch_size, opt.encoder_lr, opt.weight_decay, opt.max_grad_norm, tr.use_amp) == (
        200, 16, 5e-5, 0.001, 0.5, True)
    assert load_config(CONFIG_DIR / "a100.yaml").training.batch_size == 32


def write(tmp_path: Path, raw: dict) -> Path:
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize(
    ("raw", "fragments"),
    [
        ({"training": {"batchsize": 8}}, ["training.batchsize", "unknown key"]),
        ({"training": {"batch_size": "lots"}}, ["training.batch_size", "integer", "'lots'"]),
        ({"training": {"batch_size": 0}}, ["training.batch_size", "greater than"]),
        ({"encoder": {"vit_hidden_dim": 1000}}, ["encoder", "vit_hidden_dim (1000)", "divisible", "vit_num_heads (16)"]),
        ({"data": {"image_size": 100}}, ["data.image_size (100)", "patch_size (16)"]),
        ({"data": {"num_frames": 16, "cache_frames": 8}}, ["data", "cache_frames (8)"]),
    ],
)
def test_invalid_config_names_file_key_and_problem(tmp_path: Path, raw: dict, fragments: list[str]) -> None:
    path = write(tmp_path, raw)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(str(path))
    for fragment in fragments:
        assert fragment in message


def test_dotted_overrides_are_typed(tmp_path: Path) -> None:
    cfg = load_config(CONFIG_DIR / "config.yaml", ["training.batch_size=8", "training.use_amp=false", "data.layout=isign"])
    assert cfg.training.batch_size == 8 and cfg.training.use_amp is False and cfg.data.layout == "isign"
    with pytest.raises(ConfigError, match="training.nope"):
        load_config(CONFIG_DIR / "config.yaml", ["training.nope=1"])
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        load_config(CONFIG_DIR / "config.yaml", ["training.batch_size"])


def test_cli_reports_bad_config_in_one_line_without_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, {"training": {"batch_size": -3}})
    result = CliRunner().invoke(app, ["prepare", "--config", str(path)])
    assert result.exit_code == 1
    assert "training.batch_size" in result.output and "Traceback" not in result.output
    assert result.output.count("error:") == 1


def test_missing_config_and_env_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ISLTK_CONFIG", str(tmp_path / "absent.yaml"))
    result = CliRunner().invoke(app, ["prepare"])
    assert result.exit_code == 1 and "absent.yaml: config file not found" in result.output


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("training:\n  batch_size: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


def test_a_config_starts_from_a_preset_and_extends_another_file(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text("preset: tiny\ndata:\n  image_size: 64\ntraining:\n  batch_size: 4\n")
    (tmp_path / "variant.yaml").write_text("extends: base.yaml\ntraining:\n  batch_size: 8\n")
    cfg = load_config(tmp_path / "variant.yaml")
    assert cfg.training.batch_size == 8 and cfg.data.image_size == 64  # the variant's, then the base file's
    assert cfg.encoder.vit_hidden_dim == 64 and cfg.data.num_frames == 16  # the preset's
    (tmp_path / "loop.yaml").write_text("extends: loop.yaml\n")
    with pytest.raises(ConfigError, match="a loop"):
        load_config(tmp_path / "loop.yaml")
    (tmp_path / "unknown.yaml").write_text("preset: huge\n")
    with pytest.raises(ConfigError, match="unknown preset 'huge'"):
        load_config(tmp_path / "unknown.yaml")


def test_a_config_that_is_not_utf8_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("data:\n  csv_path: caf\xe9.csv\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)


def test_a_moved_key_names_its_new_place(tmp_path: Path) -> None:
    path = tmp_path / "old.yaml"
    path.write_text("preset: signing\ndecoder:\n  beam_size: 1\ntemporal:\n  motion_dropout: 0.25\n"
                    "training:\n  keep_checkpoints: 2\n  gloss_loss_weight: 1.0\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).splitlines() == [
        f"{path}: temporal.motion_dropout: moved to training.augmentation.motion_dropout; rename it there",
        f"{path}: training.gloss_loss_weight: moved to training.gloss_losses.temporal; rename it there",
        f"{path}: training.keep_checkpoints: moved to training.checkpoints.keep; rename it there",
        f"{path}: decoder.beam_size: moved to inference.beam_size; rename it there"]


def test_motion_dropout_needs_motion_to_drop() -> None:
    with pytest.raises(ConfigError, match="training.augmentation.motion_dropout needs motion"):
        load_config("configs/tiny.yaml", ["training.augmentation.motion_dropout=0.25"])  # per-clip normalisation, no motion channels


def test_empty_files_twice_given_keys_and_commented_out_sections(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing yet\n")
    with pytest.raises(ConfigError, match="the config is empty"):
        load_config(empty)
    twice = tmp_path / "twice.yaml"
    twice.write_text("preset: tiny\ntraining:\n  batch_size: 4\n  batch_size: 8\n")
    with pytest.raises(ConfigError, match=r"line 4: not valid YAML \(key 'batch_size' appears twice\)"):
        load_config(twice)
    commented = tmp_path / "commented.yaml"
    commented.write_text("preset: tiny\ntraining:\n  # batch_size: 4\n")
    assert load_config(commented).training.batch_size == 16
