"""Rebuilding projections from the event stores, with progress."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from services.bootstrap import Hallmark
from services.settings import ConfigurationError
from shared.bus import Consumer


class Progress:
    """A one-line progress bar on a terminal, plain lines elsewhere."""

    def __init__(self, label: str, total: int, out: TextIO = sys.stderr) -> None:
        self.label, self.total, self.out = label, max(total, 1), out
        self.done = 0
        self.started = time.monotonic()
        self.tty = out.isatty()
        self._last = 0.0

    def advance(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last >= (0.1 if self.tty else 2.0) or self.done >= self.total:
            self._last = now
            self._draw()

    def _draw(self) -> None:
        share = min(self.done / self.total, 1.0)
        rate = self.done / max(time.monotonic() - self.started, 1e-6)
        bar = "#" * int(share * 30)
        line = f"{self.label:<13} [{bar:<30}] {self.done}/{self.total} events {share:6.1%} {rate:,.0f}/s"
        self.out.write(("\r" + line) if self.tty else (line + "\n"))
        self.out.flush()

    def finish(self) -> None:
        self._draw()
        if self.tty:
            self.out.write("\n")


def rebuild(hallmark: Hallmark, which: str = "all", out: TextIO = sys.stderr) -> dict[str, int]:
    """Drop the chosen views and replay every service's published events into them."""
    views = {"certificates": hallmark.certificates, "trail": hallmark.trail, "holder": hallmark.holder}
    views = {name: view for name, view in views.items() if view is not None}  # this process's views
    chosen = list(views) if which == "all" else [which]
    absent = [name for name in chosen if name not in views]
    if absent:
        raise ConfigurationError(
            f"this process ({hallmark.component}) holds no {', '.join(absent)} view: in distributed mode the "
            "certificate view lives with the registry and the trail with projections (HALLMARK_COMPONENT)")
    counts: dict[str, int] = {}
    for name in chosen:
        consumer = next(c for c in hallmark.consumers if c.target is views[name])
        total = sum(feed.head(stream) for feed in consumer.feeds for stream in feed.streams())
        views[name].drop()
        replay = Consumer(consumer.name, consumer.feeds, views[name], merge_by_time=consumer.merge_by_time)
        progress = Progress(name, total, out)
        applied = 0
        read = replay.positions()
        while True:
            applied += replay.poll(limit=500)
            now = replay.positions()
            if now == read:
                break  # nothing more to read, published or internal
            progress.advance(sum(now.values()) - sum(read.values()))
            read = now
        progress.finish()
        consumer.reset()
        counts[name] = applied
        out.write(f"{name}: rebuilt from {applied} events\n")
    return counts
