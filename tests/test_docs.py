"""The README and docs say what the code does: every `isltk` command they show names a real subcommand,
real flags and real config keys; the config reference is the generated one; the README stays a guide.

docs/experiments/ is the record of past runs (with options since removed), so its commands are not checked.
"""

from __future__ import annotations

import re
import shlex
from functools import cache
from pathlib import Path

import pytest
from typer.testing import CliRunner

from isltk.cli.app import app
from isltk.config import Config
from isltk.config_reference import markdown

ROOT = Path(__file__).resolve().parents[1]
GUIDES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def shown_commands(path: Path) -> list[str]:
    """`isltk ...` command lines in fenced code blocks and inline code."""
    text = path.read_text(encoding="utf-8")
    blocks = re.findall(r"```(?:bash)?\n(.*?)```", text, re.S)
    lines = [line for block in blocks for line in block.splitlines()]
    lines += re.findall(r"`((?:\.venv/bin/)?isltk [^`]+)`", text)
    commands = []
    for line in lines:
        line = line.split(" # ")[0].strip()
        match = re.search(r"(?:^|\s|-m )(?:\.venv/bin/)?isltk (.*)$", line)
        if match and not line.startswith("│"):
            commands.append(match.group(1))
    return commands


@cache
def help_text(subcommand: str) -> str:
    result = CliRunner().invoke(app, [subcommand, "--help"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, f"`isltk {subcommand}` is not a command"
    return result.output


def config_key_exists(dotted: str) -> bool:
    node: type = Config
    for part in dotted.split("."):
        fields = getattr(node, "model_fields", None)
        if fields is None or part not in fields:
            return False
        node = fields[part].annotation
    return True


@pytest.mark.parametrize("path", GUIDES, ids=lambda p: p.name)
def test_every_command_shown_names_real_subcommands_flags_and_keys(path: Path) -> None:
    for command in shown_commands(path):
        words = shlex.split(command.replace("\\", ""))
        if not words or words[0].startswith("-"):
            continue
        subcommand, rest = words[0], words[1:]
        if subcommand in {"OUTDIR"} or subcommand.startswith("<"):
            continue
        usage = help_text(subcommand)
        for i, word in enumerate(rest):
            if word.startswith("--"):
                flag = word.split("=")[0]
                assert flag in usage, f"{path.name}: `isltk {command}`: {flag} is not an option of {subcommand}"
            if word == "--set" and i + 1 < len(rest):
                key = rest[i + 1].split("=")[0]
                assert config_key_exists(key), f"{path.name}: `isltk {command}`: {key} is not a config key"
            if word in ("--config", "-c") and i + 1 < len(rest) and rest[i + 1].startswith("configs/"):
                assert (ROOT / rest[i + 1]).is_file(), f"{path.name}: {rest[i + 1]} does not exist"


def test_the_guides_show_commands_at_all() -> None:
    assert len(shown_commands(ROOT / "README.md")) >= 10


def test_the_config_reference_is_the_generated_one() -> None:
    assert (ROOT / "docs" / "config.md").read_text(encoding="utf-8") == markdown(), \
        "regenerate it: make docs"


def test_readme_is_a_guide_not_a_notebook() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 250
    for path in [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]:
        assert "/tmp/" not in path.read_text(encoding="utf-8"), f"{path}: a /tmp path is no instruction a user can follow"


def test_every_benchmark_and_config_a_guide_names_exists() -> None:
    for path in GUIDES:
        text = path.read_text(encoding="utf-8")
        for script in set(re.findall(r"benchmarks/(\w+\.py)", text)):
            assert (ROOT / "benchmarks" / script).is_file(), f"{path.name}: benchmarks/{script} does not exist"
        for config in set(re.findall(r"configs/(\w+\.yaml)", text)):
            assert (ROOT / "configs" / config).is_file(), f"{path.name}: configs/{config} does not exist"

