"""Shared CLI pieces: option aliases defined once, config loading, and one-line error handling."""

from __future__ import annotations

import errno
import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from isltk.config import Config, default_config_path, load_config
from isltk.errors import IsltkError

DEBUG_ENV_VAR = "ISLTK_DEBUG"

PIPED_WIDTH = 10_000  # columns when writing to a file or a pipe: no table cut short with "…", no line wrapped


def console(to_stderr: bool = False) -> Console:
    """A rich console; piped or redirected, as wide as any line, so a table or a sentence reaches a file whole
    (rich assumes 80 columns there)."""
    out = Console(stderr=to_stderr)
    if not out.is_terminal:
        out.width = PIPED_WIDTH
    return out


stdout = console()
stderr = console(to_stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML config (default: $ISLTK_CONFIG or configs/config.yaml)."),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a config key, e.g. --set training.batch_size=8 (repeatable)."),
]

F = TypeVar("F", bound=Callable[..., Any])


_debug_flag = False


def set_debug(enabled: bool) -> None:
    """Set by the root `--debug` option on every invocation, so it never leaks between runs."""
    global _debug_flag
    _debug_flag = enabled


def debug_enabled() -> bool:
    return _debug_flag or os.environ.get(DEBUG_ENV_VAR, "") not in ("", "0")


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print a known error as one line per problem on stderr and return the Exit to raise."""
    for line in message.splitlines():
        stderr.print(f"[bold red]error:[/] {line}", highlight=False, markup=True, soft_wrap=True)
    return typer.Exit(code)


def handle_errors(command: F) -> F:
    """Known errors become one line and exit 1; with --debug / ISLTK_DEBUG=1 the traceback shows."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except IsltkError as exc:
            if debug_enabled():
                raise
            raise fail(str(exc)) from None
        except OSError as exc:
            if debug_enabled() or exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            where = f" writing {exc.filename}" if exc.filename else ""
            raise fail(f"no space left on the device{where}; free some space and run the same command again "
                       "(finished work is kept: prepare skips done clips, train resumes with --resume auto)") from None
        except KeyboardInterrupt:
            if debug_enabled():
                raise
            stderr.print("interrupted")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def read_config(config_path: Path | None, overrides: list[str] | None) -> Config:
    return load_config(config_path or default_config_path(), overrides or [])
