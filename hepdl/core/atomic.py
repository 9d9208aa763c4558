"""Atomic output files: write to a temporary sibling, rename into place on success.

A job killed half-way therefore leaves either the previous state or nothing, never a partial file
under the final name; Snakemake's rerun of an incomplete job starts clean.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on clean exit rename it onto ``path``.

    The temporary file lives in the same directory (so the rename is atomic on POSIX) and keeps
    the final suffix (libraries that pick a format from the suffix still work). On any exception
    the temporary file is removed and the exception propagates; ``path`` is left untouched.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    suffix = final.suffix if suffix is None else suffix
    remove_stale_temporaries(final)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=f".tmp{suffix}", dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # let the writer create it (some libraries refuse to open an existing file)
    try:
        yield tmp
        if not tmp.exists():
            raise RuntimeError(f"atomic write of {final}: the writer created no file")
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Delete temporary siblings of ``path`` left by a writer that was killed (``kill -9``).

    Outputs have one writer at a time (a Snakemake job), so any ``.NAME.*.tmp*`` beside ``path``
    when a new write starts is debris of an earlier, interrupted one. Returns what was removed.
    """
    final = Path(path)
    stale = sorted(final.parent.glob(f".{glob_escape(final.name)}.*.tmp*"))
    for leftover in stale:
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()
    return stale


def glob_escape(name: str) -> str:
    """``name`` with glob metacharacters escaped."""
    return "".join(f"[{c}]" if c in "*?[]" else c for c in name)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
