"""Terminal helpers shared by the demos: progress bars, tables, panels, small charts."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from rich.console import Console
from rich.panel import Panel
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

_SPARK = "▁▂▃▄▅▆▇█"


def progress(console: Console) -> Progress:
    """A progress display for training loops; tasks may set a ``loss`` field."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def table(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    caption: str | None = None,
    justify: str = "right",
) -> Table:
    """A results table; cells are printed as given (format numbers before). The first
    column is left-justified, the others as ``justify`` says."""
    result = Table(title=title, caption=caption, title_justify="left", caption_justify="left")
    for i, column in enumerate(columns):
        result.add_column(column, justify="left" if i == 0 else justify)
    for row in rows:
        result.add_row(*(str(cell) for cell in row))
    return result


def panel(text: str, title: str) -> Panel:
    return Panel(text, title=title, title_align="left", expand=False)


def sparkline(
    values: Sequence[float], width: int = 60, low: float | None = None, high: float | None = None
) -> str:
    """A one-line chart of ``values`` (averaged into ``width`` buckets); non-finite -> '×'."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return ""
    buckets = np.array_split(values, min(width, values.size))
    means = [b.mean() if np.all(np.isfinite(b)) else math.nan for b in buckets]
    finite = [m for m in means if math.isfinite(m)]
    if not finite:
        return "×" * len(means)
    low = min(finite) if low is None else low
    high = max(finite) if high is None else high
    span = (high - low) or 1.0
    chars = []
    for m in means:
        if not math.isfinite(m):
            chars.append("×")
        else:
            level = int(round((min(max(m, low), high) - low) / span * (len(_SPARK) - 1)))
            chars.append(_SPARK[level])
    return "".join(chars)
