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
    for section, field in Config.model_fields.items():
        model: type[BaseModel] = field.annotation  # type: ignore[assignment]
        lines += [f"## `{section}`", "", "| key | type | default | meaning |", "|---|---|---|---|"]
        for name, info in model.model_fields.items():
            meaning = (info.description or "").replace("|", "\\|").replace("\n", " ")
            lines.append(f"| `{name}` | {_type(info.annotation)} | {_default(info.default)} | {meaning} |")
        lines.append("")
    return "\n".join(lines)

