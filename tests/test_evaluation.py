"""evaluate and translate on a real (briefly) trained checkpoint; scores checked against sacrebleu's CLI."""

import csv
import json
import pickle
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from isltk.cli.app import app
from isltk.errors import CheckpointError, DataError
from isltk.evaluation.evaluate import evaluate_split, sweep
from isltk.evaluation.inference import load_translator
from isltk.metrics import rouge_l
from isltk.training import run_folder
from isltk.training.trainer import Trainer
from tests.conftest import micro_config

runner = CliRunner()


@pytest.fixture(scope="module")
def run_dir(simple_corpus: Path) -> Path:
    """A run beside the shared corpus (tests find its videos and CSV two folders up)."""
    runs = simple_corpus / "eval-runs"
    Trainer(micro_config(simple_corpus, runs, num_epochs=2), runs / "r1").fit()
    return runs / "r1"


def test_scores_equal_sacrebleu_cli_on_written_files(run_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["evaluate", "--checkpoint", str(run_dir), "--split", "test", "--beam", "2", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    # clips.jsonl: the CSV's test sentences exactly as written, in order; references.txt: the same as scored
    rows = list(csv.DictReader((run_dir.parents[1] / "sentences.csv").open()))
    written = {r["video"].rsplit(".", 1)[0]: r["text"] for r in rows}
    clips = [json.loads(line) for line in (tmp_path / "clips.jsonl").read_text().splitlines()]
    assert [c["reference"] for c in clips] == [written[c["id"]] for c in clips]
    assert any(c["hypothesis"] != c["hypothesis"].lower() for c in clips)  # shown capitalised: the check below means something
    assert metrics["lowercase"] and "case:lc" in metrics["scores"]["BLEU-4"]["signature"]  # the model's vocabulary is lower-cased
    assert (tmp_path / "references.txt").read_text().splitlines() == [written[c["id"]].lower() for c in clips]
    assert (tmp_path / "hypotheses.txt").read_text().splitlines() == [c["hypothesis"].lower() for c in clips]
    # plain sacrebleu, no -lc: the files hold what was scored
    cli = subprocess.run([sys.executable, "-m", "sacrebleu", str(tmp_path / "references.txt"), "-i", str(tmp_path / "hypotheses.txt"),
                          "-m", "bleu", "chrf", "-b", "-w", "4"], capture_output=True, text=True, check=True)
    bleu_cli, chrf_cli = json.loads(cli.stdout)  # `-b` with two metrics prints a JSON list
    assert metrics["scores"]["BLEU-4"]["value"] == pytest.approx(bleu_cli, abs=0.01)
    assert metrics["scores"]["chrF"]["value"] == pytest.approx(chrf_cli, abs=0.01)
    assert "tok:13a" in metrics["scores"]["BLEU-4"]["signature"] and "tok:13a" in result.output
    lines = (tmp_path / "clips.jsonl").read_text().splitlines()
    assert len(lines) == 6 and set(json.loads(lines[0])) == {"id", "reference", "hypothesis", "sentence_bleu"}


def test_sweep_picks_the_known_best_pair() -> None:
    references = ["the boy eats the apple", "she reads the book today"]

    def decode(beam: int, alpha: float) -> list[str]:
        if (beam, alpha) == (4, 0.5):
            return references
        return ["the boy eats", "she reads"] if beam > 1 else ["a", "b"]

    result = sweep(decode, references, [1, 2, 4], [0.0, 0.5, 1.0])
    assert (result.best_beam, result.best_alpha) == (4, 0.5) and result.best_bleu == pytest.approx(100.0)
    assert len(result.table) == 1 + 3 + 3  # greedy is tried with one alpha


def test_sweep_encodes_each_clip_once(run_dir: Path) -> None:
    from isltk.evaluation.evaluate import sweep_split

    loaded = load_translator(run_dir, device="cpu")
    calls = []
    loaded.model.encoder.register_forward_hook(lambda module, args, output: calls.append(args[0].shape[0]))
    result = sweep_split(loaded, "test", beams=[1, 2], alphas=[0.6, 1.0], batch_size=4)
    assert len(result.table) == 3
    assert sum(calls) == 6  # 6 test clips through the ViT once, not once per (beam, alpha) pair


@pytest.mark.parametrize(("bf16", "expected"), [(True, torch.bfloat16), (False, torch.float16)])
def test_evaluation_on_cuda_uses_the_training_precision(run_dir: Path, monkeypatch: pytest.MonkeyPatch, bf16: bool,
                                                        expected: torch.dtype) -> None:
    """sm80+ (bf16) and sm70/75 (fp16) as training picks them; CPU stays fp32. No GPU needed to decide."""
    import dataclasses

    loaded = load_translator(run_dir, device="cpu")
    assert loaded.amp_dtype is None
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: bf16 or including_emulation)
    on_gpu = dataclasses.replace(loaded, config=loaded.config.model_copy(update={"training": loaded.config.training.model_copy(
        update={"use_amp": True})}), device=torch.device("cuda"))
    assert on_gpu.amp_dtype == expected


def test_rouge_l_known_values() -> None:
    assert rouge_l(["a b c d"], ["a b c d"]).value == pytest.approx(100.0)
    assert rouge_l(["x y"], ["a b"]).value == 0.0
    # LCS 2 of hyp 3 / ref 4: P=2/3, R=1/2, beta 1.2
    p, r, b2 = 2 / 3, 1 / 2, 1.44
    assert rouge_l(["a c x"], ["a b c d"]).value == pytest.approx(100 * (1 + b2) * p * r / (r + b2 * p))


def test_translate_good_corrupt_and_mixed(run_dir: Path, tmp_path: Path) -> None:
    videos = run_dir.parents[1] / "videos"
    good = videos / "test_00000.mp4"
    single = runner.invoke(app, ["translate", str(good), "--checkpoint", str(run_dir)])
    assert single.exit_code == 0 and single.stdout.strip()
    corrupt = tmp_path / "broken.mp4"
    corrupt.write_bytes(good.read_bytes()[:300])
    mixed = runner.invoke(app, ["translate", str(good), str(corrupt), str(videos / "test_0000[1-2].mp4"), "--checkpoint", str(run_dir), "--json"])
    assert mixed.exit_code == 1
    rows = [json.loads(line) for line in mixed.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["test_00000", "broken", "test_00001", "test_00002"]
    assert "error" in rows[1] and all(r["text"] and r["seconds"] > 0 for r in rows[:1] + rows[2:])
    assert "broken.mp4" in mixed.stderr and all(r["warning"] == "" for r in rows[:1] + rows[2:])


def test_translate_warns_about_a_clip_with_no_signing(run_dir: Path, tmp_path: Path) -> None:
    """A test pattern gets a sentence all the same; the warning says it looks like nothing validated."""
    from isltk.synth.encode import write_video_ffmpeg

    bars = np.zeros((24, 64, 64, 3), np.uint8)
    for i, colour in enumerate([(255, 255, 255), (255, 255, 0), (0, 255, 255), (0, 255, 0), (255, 0, 255), (255, 0, 0)]):
        bars[:, :, i * 10:(i + 1) * 10 + 4] = colour
    write_video_ffmpeg(tmp_path / "bars.mp4", bars, 12)
    good = run_dir.parents[1] / "videos" / "test_00000.mp4"
    result = runner.invoke(app, ["translate", str(good), str(tmp_path / "bars.mp4"), "--checkpoint", str(run_dir), "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert rows["test_00000"]["warning"] == "" and rows["bars"]["text"]
    assert rows["bars"]["warning"].startswith("unlike the clips this model was validated on")
    text = runner.invoke(app, ["translate", str(tmp_path / "bars.mp4"), "--checkpoint", str(run_dir)])
    assert text.exit_code == 0 and "warning:" in text.stderr and "bars.mp4" in text.stderr


def test_translate_defaults_to_best_of_latest_run(run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").symlink_to(run_dir.parent)
    clip = run_dir.parents[1] / "videos" / "test_00000.mp4"
    result = runner.invoke(app, ["translate", str(clip)])
    assert result.exit_code == 0, result.output
    assert "using checkpoint" in result.stderr and "ckpt-" in result.stderr


class Exploit:
    def __reduce__(self):  # runs `touch <marker>` if unpickled
        return (subprocess.call, (["touch", str(Exploit.marker)],))


def test_malicious_pickle_checkpoint_is_refused_and_never_runs(run_dir: Path, tmp_path: Path) -> None:
    Exploit.marker = tmp_path / "pwned"
    evil = tmp_path / "model.pt"
    evil.write_bytes(pickle.dumps({"model": Exploit()}))
    with pytest.raises(CheckpointError, match="refused"):
        load_translator(evil)
    result = runner.invoke(app, ["evaluate", "--checkpoint", str(evil)])
    assert result.exit_code == 1 and "refused" in result.output
    # also inside a checkpoint folder: state.pt is only opened with weights_only=True
    from isltk.training import checkpoint as ckpt

    folder = ckpt.list_checkpoints(run_folder.checkpoints_dir(run_dir))[-1]
    copy = tmp_path / folder.name
    subprocess.run(["cp", "-r", str(folder), str(copy)], check=True)
    (copy / "state.pt").write_bytes(pickle.dumps({"optimizer": Exploit()}))
    with pytest.raises(CheckpointError, match="refused"):
        ckpt.load_train_state(copy)
    assert not Exploit.marker.exists()


def test_checkpoint_from_another_shape_or_without_vocab_is_a_clear_error(run_dir: Path, tmp_path: Path) -> None:
    from isltk.training import checkpoint as ckpt

    folder = ckpt.list_checkpoints(run_folder.checkpoints_dir(run_dir))[-1]
    copy = tmp_path / folder.name
    subprocess.run(["cp", "-r", str(folder), str(copy)], check=True)
    meta = json.loads((copy / "meta.json").read_text())
    meta["model_config"]["decoder"]["hidden_dim"] = 48
    (copy / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=r"do not fit the stored model shape \(\d+ of another shape: ") as error:
        load_translator(copy)
    assert "\n" not in str(error.value) and "more" in str(error.value)  # one line, the first names and a count
    meta["vocab"] = []
    (copy / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="model expects"):
        load_translator(copy)


class ReportParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if tag == "tr" and "data-id" in attributes:
            self.rows.append(attributes)
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def test_report_shows_every_clip_worst_first_with_no_external_urls(run_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["evaluate", "--checkpoint", str(run_dir), "--split", "test", "--out", str(tmp_path / "ev"), "--report"])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "ev" / "report.html").read_text()
    parser = ReportParser()
    parser.feed(page)
    clips = [json.loads(line) for line in (tmp_path / "ev" / "clips.jsonl").read_text().splitlines()]
    assert sorted(r["data-id"] for r in parser.rows) == sorted(c["id"] for c in clips)
    scores = [float(r["data-bleu"]) for r in parser.rows]
    assert scores == sorted(scores)  # worst first
    assert parser.urls and all(url.startswith("data:image/jpeg;base64,") for url in parser.urls)  # frames inline
    assert "http://" not in page and "https://" not in page
    assert "<svg" in page  # training curves, inline
    # the command form: a run folder resolves to its newest evaluation
    again = runner.invoke(app, ["report", str(tmp_path / "ev"), "--out", str(tmp_path / "r.html"), "--thumbnails", "2"])
    assert again.exit_code == 0, again.output
    assert (tmp_path / "r.html").read_text().count("data:image/jpeg") == 2


def test_gloss_wer_counts_substitutions_deletions_insertions() -> None:
    from isltk.metrics import word_error_rate

    assert word_error_rate([["a", "x", "c"]], [["a", "b", "c", "d"]]).value == pytest.approx(50.0)  # 1 sub + 1 del
    assert word_error_rate([["a", "b", "b", "c"]], [["a", "b", "c"]]).value == pytest.approx(100 / 3)  # 1 insertion
    assert word_error_rate([[], ["q"]], [["a"], ["q"]]).value == pytest.approx(50.0)


BROWSER = next((name for name in ("chromium-headless-shell", "chromium", "google-chrome") if shutil.which(name)), None)


def headless(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(BROWSER is None, reason="no headless Chromium here (Debian: apt-get install chromium-headless-shell)")
def test_report_sorts_filters_and_renders_in_a_real_browser(run_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["evaluate", "--checkpoint", str(run_dir), "--split", "test", "--out", str(tmp_path / "ev"), "--report"])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "ev" / "report.html").read_text()
    # what a reader does: click BLEU twice (ascending, then descending), type a filter
    clicks = ("<script>const h=document.querySelector('#clips th[data-key=bleu]');h.click();h.click();"
              "const f=document.getElementById('filter');f.value='zzz-no-such-word';f.dispatchEvent(new Event('input'));</script>")
    (tmp_path / "clicked.html").write_text(page.replace("</body>", clicks + "</body>"))
    dom = headless("--dump-dom", (tmp_path / "clicked.html").as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    parser = ReportParser()
    parser.feed(dom.stdout)
    scores = [float(r["data-bleu"]) for r in parser.rows]
    assert len(scores) == 6 and scores == sorted(scores, reverse=True)  # the page's script re-sorted the rows
    assert all("hidden" in r for r in parser.rows)  # and the filter hid every row
    # without its script (as with JavaScript off) the page lays out and draws: a picture that is not blank
    static = tmp_path / "static.html"
    static.write_text(page[: page.index("<script>")] + "</body></html>")
    shot = tmp_path / "report.png"
    headless(f"--screenshot={shot}", "--window-size=1200,900", "--hide-scrollbars", static.as_uri())
    image = cv2.imread(str(shot))
    assert image is not None and image.shape[:2] == (900, 1200) and image.std() > 10


def test_report_diff_compares_words_as_the_scores_do() -> None:
    from isltk.evaluation.report import word_diff

    same, missed, inserted = word_diff("we read the tea", "We read the tea.", lowercase=True)
    assert missed == [] and inserted == ["."] and "We read the tea" in same  # case:lc: only the full stop differs
    _, missed, inserted = word_diff("we read the tea", "We read the tea", lowercase=False)
    assert missed == ["we"] and inserted == ["We"]


def test_damaged_weights_a_wrong_device_another_image_size_and_a_file_as_out_are_one_line_errors(run_dir: Path,
                                                                                                 tmp_path: Path) -> None:
    from isltk.training import checkpoint as ckpt

    folder = ckpt.list_checkpoints(run_folder.checkpoints_dir(run_dir))[-1]
    copy = tmp_path / folder.name
    subprocess.run(["cp", "-r", str(folder), str(copy)], check=True)
    weights = copy / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])  # truncated
    result = runner.invoke(app, ["evaluate", "--checkpoint", str(copy)])
    assert result.exit_code == 1 and "truncated or damaged" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["evaluate", "--checkpoint", str(run_dir), "--device", "gpu"])
    assert result.exit_code == 1 and "use auto, cpu, cuda or cuda:N" in result.output
    taken = tmp_path / "taken.txt"
    taken.write_text("x")
    result = runner.invoke(app, ["evaluate", "--checkpoint", str(run_dir), "--out", str(taken)])
    assert result.exit_code == 1 and "exists and is not a folder" in result.output
    loaded = load_translator(run_dir)
    settings = json.loads((loaded.config.data.prepared_dir / "settings.json").read_text())
    other = tmp_path / "other-size"
    subprocess.run(["cp", "-r", str(loaded.config.data.prepared_dir), str(other)], check=True)
    (other / "settings.json").write_text(json.dumps({**settings, "image_size": 64}))
    with pytest.raises(DataError, match="stored at 64 px"):
        evaluate_split(loaded, "test", 1, 1.0, tmp_path / "eval", prepared_dir=other)


def test_translate_says_when_a_folder_or_pattern_matches_no_clip(run_dir: Path, tmp_path: Path) -> None:
    videos = run_dir.parents[1] / "videos"
    (tmp_path / "empty").mkdir()
    result = runner.invoke(app, ["translate", str(tmp_path / "empty"), str(videos / "test_00000.mp4"),
                                 str(tmp_path / "**" / "x.mp4"), "--checkpoint", str(run_dir)])
    assert result.exit_code == 1 and result.stdout == ""
    assert "empty: no clips matched" in result.output and "x.mp4: no clips matched" in result.output
    early = runner.invoke(app, ["translate", str(tmp_path / "empty"), "--checkpoint", str(tmp_path / "no-such-run")])
    assert early.exit_code == 1 and "empty: no clips matched" in early.output  # before any checkpoint is read
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    shutil.copy(videos / "test_00000.mp4", nested / "clip.mp4")
    found = runner.invoke(app, ["translate", str(tmp_path / "**" / "*.mp4"), "--checkpoint", str(run_dir)])
    assert found.exit_code == 0 and found.stdout.strip()  # recursive globs reach nested folders
