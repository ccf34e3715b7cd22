"""A text progress bar for the seeding and load phases, written to the command's stderr."""

from __future__ import annotations

import time
from typing import TextIO


class ProgressBar:
    """`label [#####.....] 512/1000 (51%) 3.2s`, redrawn in place at most ten times a second."""

    WIDTH = 30

    def __init__(self, label: str, total: int, stream: TextIO) -> None:
        self.label = label
        self.total = max(1, total)
        self.stream = stream
        self.done = 0
        self.started = time.perf_counter()
        self._drawn_at = 0.0

    def advance(self, step: int = 1) -> None:
        self.done = min(self.total, self.done + step)
        now = time.perf_counter()
        if now - self._drawn_at >= 0.1 or self.done == self.total:
            self._draw(now)

    def finish(self) -> None:
        self.done = self.total
        self._draw(time.perf_counter())
        self.stream.write("\n")
        self.stream.flush()

    def _draw(self, now: float) -> None:
        self._drawn_at = now
        filled = int(self.WIDTH * self.done / self.total)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        percent = 100 * self.done // self.total
        elapsed = now - self.started
        self.stream.write(
            f"\r  {self.label:<28} [{bar}] {self.done}/{self.total} ({percent}%) {elapsed:.1f}s"
        )
        self.stream.flush()
