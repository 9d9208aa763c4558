"""Progress reporting: a bar in a terminal, plain periodic log lines otherwise (Snakemake logs)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

log = logging.getLogger("hepdl")


def setup_logging(debug: bool = False) -> None:
    """Log to stderr with timestamps (Snakemake redirects stderr into the rule's ``log:`` file)."""
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
        force=True,
    )


class Progress:
    """Count work units (jets, images, batches) towards ``total``.

    In a terminal it draws a tqdm bar; otherwise it logs one line at most every ``interval_s``
    seconds with the rate, so a Snakemake log shows that long work is moving.
    """

    def __init__(self, total: int | None, desc: str, unit: str = "jets", interval_s: float = 10.0):
        self.total, self.desc, self.unit, self.interval_s = total, desc, unit, interval_s
        self.n = 0
        self._t0 = self._last = time.monotonic()
        self._bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=desc, unit=f" {unit}", dynamic_ncols=True)

    def update(self, n: int = 1) -> None:
        self.n += n
        if self._bar is not None:
            self._bar.update(n)
            return
        now = time.monotonic()
        if now - self._last >= self.interval_s:
            self._last = now
            of = f"/{self.total}" if self.total else ""
            log.info("%s: %d%s %s (%.0f %s/s)", self.desc, self.n, of, self.unit,
                     self.n / max(now - self._t0, 1e-9), self.unit)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elapsed = time.monotonic() - self._t0
        log.info("%s: done, %d %s in %.1f s (%.0f %s/s)", self.desc, self.n, self.unit, elapsed,
                 self.n / max(elapsed, 1e-9), self.unit)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def track(items: Iterable[T], total: int | None, desc: str, unit: str = "items") -> Iterator[T]:
    """Iterate over ``items`` with a :class:`Progress` counting one per item."""
    with Progress(total, desc, unit) as progress:
        for item in items:
            yield item
            progress.update(1)
