"""The config reference (docs/config.md), generated from the pydantic models' fields and descriptions so
that it cannot drift from the code; a test compares the file with this output. `make docs` writes it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from isltk.config import Config
from isltk.presets import PRESETS


def _default(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, tuple | list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _type(annotation: Any) -> str:
    return str(annotation).replace("typing.", "").replace("pathlib.", "").replace("<class '", "").replace("'>", "").replace("|", "\\|")


def markdown() -> str:
    lines = ["# Config reference", "",
             "Every command reads one YAML file with these sections; `--set section.key=value` overrides a key.",
             "A file may start from a named model preset (`preset: NAME`, one of "
             + ", ".join(f"`{name}`" for name in PRESETS) + ", in `isltk/presets.py`) and from another file",
             "(`extends: other.yaml`, relative to the file); what the file itself sets wins. Unknown keys are errors.",
             "Generated from `isltk/config.py` by `make docs`; do not edit by hand.", ""]
    return "\n".join(lines + _section_tables(Config, ""))


def _section_tables(model: type[BaseModel], prefix: str) -> list[str]:
    """One table per section; a nested section (e.g. `training.gloss_losses`) gets its own after its parent's."""
    lines: list[str] = []
    nested: list[tuple[str, type[BaseModel]]] = []
    if prefix:
        lines += [f"## `{prefix}`", "", "| key | type | default | meaning |", "|---|---|---|---|"]
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            nested.append((f"{prefix}.{name}" if prefix else name, annotation))
            if prefix:
                lines.append(f"| `{name}` | section | see `{prefix}.{name}` | {_meaning(info.description)} |")
            continue
        default = info.get_default(call_default_factory=True)
        lines.append(f"| `{name}` | {_type(annotation)} | {_default(default)} | {_meaning(info.description)} |")
    if prefix:
        lines.append("")
    for path, section in nested:
        lines += _section_tables(section, path)
    return lines


def _meaning(description: str | None) -> str:
    return (description or "").replace("|", "\\|").replace("\n", " ")
