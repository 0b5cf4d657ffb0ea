"""Terminal helpers shared by the demos: progress bars, text and tables that fit the terminal, charts.

What these print fits the console's width without cutting a value or a chart:

* text (``say``, ``panel``, ``Wrapped``) breaks only at spaces outside short bracketed groups,
  so ``(2, 4)``, ``[0.85 0.88]`` or ``(1 - y**2)`` stays on one line, and never beside a ``±``;
* a table (``table``) that is too wide first narrows the columns that hold text, then folds: the
  columns that do not fit go into a further table that repeats the first column. Values and
  charts are never squeezed;
* a line chart (``LineChart``) takes the width it is given.

Strings are shown as they are: rich does not read them as markup, so ``x[index]`` prints as
written. Where a demo writes markup of its own (``[bold]``), ``escape`` keeps the values it
inserts literal.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.markup import escape
from rich.measure import Measurement
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
from rich.text import Text

__all__ = [
    "FittedTable",
    "LineChart",
    "Wrapped",
    "break_points",
    "escape",
    "panel",
    "progress",
    "rule",
    "say",
    "sparkline",
    "table",
]

_SPARK = "▁▂▃▄▅▆▇█"
# A bracketed group of at most this many characters is kept on one line (a shape, a vector, a
# short formula); a longer one (a parenthetical clause) may break inside, as prose does.
KEEP = 24
_OPENING, _CLOSING = "([{", ")]}"


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


# ---- text that wraps without splitting a value ---------------------------------------------------
def break_points(text: str, keep: int = KEEP) -> list[int]:
    """The positions of the spaces where ``text`` may break onto a new line: not inside a bracketed
    group of at most ``keep`` characters, and not beside a ``±`` (a mean and its spread)."""
    kept = [False] * len(text)
    opened: list[int] = []
    for i, char in enumerate(text):
        if char in _OPENING:
            opened.append(i)
        elif char in _CLOSING and opened:
            start = opened.pop()
            if i - start + 1 <= keep:
                kept[start:i] = [True] * (i - start)
    return [
        i
        for i, char in enumerate(text)
        if char == " " and not kept[i] and text[i - 1 : i] != "±" and text[i + 1 : i + 2] != "±"
    ]


def _words(line: Text, keep: int) -> list[tuple[str, Text]]:
    """``line`` cut at its break points: (the spaces before the word, the word), styles kept."""
    points = set(break_points(line.plain, keep))
    words: list[tuple[str, Text]] = []
    start, spaces = 0, ""
    for i in range(len(line.plain) + 1):
        if i == len(line.plain) or i in points:
            if i > start:
                words.append((spaces, line[start:i]))
                spaces = ""
            spaces, start = spaces + " ", i + 1
    return words


class Wrapped:
    """Text laid out in the width it is given, broken only at ``break_points``.

    Lines after the first of each paragraph are indented by ``indent`` spaces. A single word
    wider than the width (a long bracketed clause) is folded by rich as a last resort.
    """

    def __init__(self, text: str | Text, indent: int = 0, keep: int = KEEP, highlight: bool = False):
        self.text = Text(text) if isinstance(text, str) else text
        self.indent, self.keep, self.highlight = indent, keep, highlight

    def _lines(self) -> list[Text]:
        return self.text.split("\n", allow_blank=True)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        widest_word = max(
            (cell_len(word.plain) for line in self._lines() for _, word in _words(line, self.keep)), default=0
        )
        longest = max((cell_len(line.plain) for line in self._lines()), default=0)
        return Measurement(min(widest_word + self.indent, longest), longest).clamp(None, options.max_width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max(1, options.max_width)
        text = console.highlighter(self.text.copy()) if self.highlight else self.text
        out: list[Text] = []
        for line in text.split("\n", allow_blank=True):
            current: Text | None = None
            for spaces, word in _words(line, self.keep):
                if current is None:  # the paragraph's own indentation is kept
                    current = Text(spaces) + word
                elif cell_len(current.plain) + len(spaces) + cell_len(word.plain) <= width:
                    current.append(spaces)
                    current.append_text(word)
                else:
                    out.extend(_fold(current, width, console))
                    current = Text(" " * self.indent) + word
            out.extend(_fold(current if current is not None else Text(""), width, console))
        result = Text("\n").join(out)
        result.no_wrap = True
        yield result


def _fold(line: Text, width: int, console: Console) -> list[Text]:
    """``line`` as it is if it fits, else cut into pieces of ``width`` cells (the last resort)."""
    if cell_len(line.plain) <= width:
        return [line]
    return list(line.wrap(console, width, overflow="fold"))


def say(console: Console, text: str, markup: bool = True, highlight: bool = True, indent: int = 0) -> None:
    """Print a paragraph (``markup``: it holds rich markup; escape the values put into it)."""
    body = Text.from_markup(text) if markup else Text(text)
    console.print(Wrapped(body, indent=indent, highlight=highlight))


def panel(text: str, title: str) -> Panel:
    """A boxed paragraph; ``text`` and ``title`` are plain (no markup)."""
    return Panel(Wrapped(text), title=Text(title), title_align="left", expand=False)


COMPILED = (
    "Every training step runs through tinygrad_rnn.jit: the composed model's forward and backward pass "
    "as one generated numpy program (the same numbers; python -m demos compile shows such a program)."
)


def compiled_note(console: Console) -> None:
    """Say that the demo's training steps are compiled (a dim paragraph)."""
    console.print(Wrapped(Text(COMPILED, style="dim")))


def rule(console: Console, title: str, subtitle: str) -> None:
    """A horizontal rule titled ``title: subtitle``; when that does not fit the width, the rule is
    titled ``title`` alone and the subtitle follows as a paragraph (a rule would cut it)."""
    full = Text.assemble((title, "bold"), f": {subtitle}")
    if cell_len(full.plain) + 6 <= console.width:
        console.rule(full)
    else:
        console.rule(Text(title, style="bold"))
        console.print(Wrapped(Text(subtitle, style="dim")))


# ---- tables that fit ------------------------------------------------------------------------------
_PER_COLUMN, _EDGE = 3, 1  # a column's padding and its border on the left; the border on the right


class FittedTable:
    """A table that fits the width it is given (see the module's docstring); made by ``table``."""

    def __init__(
        self,
        title: str | None,
        columns: Sequence[str],
        rows: Sequence[Sequence[object]],
        caption: str | None,
        justify: Sequence[str],
        wrap: Sequence[bool],
    ) -> None:
        self.title, self.caption = title, caption
        self.columns = [str(c) for c in columns]
        self.rows = [[str(cell) for cell in row] for row in rows]
        self.justify, self.wrap = list(justify), list(wrap)

    def _natural(self, i: int) -> int:
        """Column i's width with nothing wrapped (its header may still wrap at its words)."""
        lines = [line for row in self.rows for line in row[i].split("\n")]
        return max([cell_len(line) for line in lines] + [self._header_min(i)])

    def _minimum(self, i: int) -> int:
        """The narrowest column i can be without splitting a value (or a word of a text column)."""
        if not self.wrap[i]:
            return self._natural(i)
        # A text column may fold a word longer than KEEP (a sampled string without spaces); its
        # values and short groups stay whole.
        words = [
            cell_len(word.plain)
            for row in self.rows
            for line in row[i].split("\n")
            for _, word in _words(Text(line), KEEP)
        ]
        return max([min(word, KEEP) for word in words] + [self._header_min(i)])

    def _header_min(self, i: int) -> int:
        return max((cell_len(word) for word in self.columns[i].split()), default=1)

    def _widths(self, indices: Sequence[int], width: int) -> list[int] | None:
        """Widths for these columns within ``width``, or None if even their minimums do not fit."""
        room = width - _PER_COLUMN * len(indices) - _EDGE
        widths = [self._minimum(i) for i in indices]
        if sum(widths) > room:
            return None
        # Give what is left first to the text columns, then to the headers that would wrap.
        wanted = [max(self._natural(i), cell_len(self.columns[i])) for i in indices]
        for k in sorted(range(len(indices)), key=lambda k: not self.wrap[indices[k]]):
            extra = min(room - sum(widths), wanted[k] - widths[k])
            widths[k] += max(0, extra)
        return widths

    def _groups(self, width: int) -> list[tuple[list[int], list[int]]]:
        """The columns in tables that fit: all at once, or the first column and as many others as fit."""
        every = list(range(len(self.columns)))
        widths = self._widths(every, width)
        if widths is not None or len(every) == 1:
            return [(every, widths or [self._natural(0)])]
        groups: list[list[int]] = []
        for i in every[1:]:
            if groups and self._widths(groups[-1] + [i], width) is not None:
                groups[-1].append(i)
            else:
                groups.append([0, i])
        return [(group, self._widths(group, width) or [self._minimum(i) for i in group]) for group in groups]

    def _render(self, indices: list[int], widths: list[int], title: str | None, caption: str | None) -> Table:
        result = Table(
            title=Text(title) if title else None,
            caption=Text(caption) if caption else None,
            title_justify="left",
            caption_justify="left",
        )
        for i, column_width in zip(indices, widths):
            header = Wrapped(self.columns[i])  # a header wraps at its words, even over a value column
            result.add_column(header, justify=self.justify[i], width=column_width, no_wrap=not self.wrap[i])
        for row in self.rows:
            result.add_row(*(Wrapped(row[i]) if self.wrap[i] else Text(row[i]) for i in indices))
        return result

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        groups = self._groups(options.max_width)
        for k, (indices, widths) in enumerate(groups):
            title = self.title if k == 0 else f"{self.title or 'the table'}, continued"
            caption = self.caption if k == len(groups) - 1 else None
            yield self._render(indices, widths, title, caption)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        every = range(len(self.columns))
        extra = _PER_COLUMN * len(self.columns) + _EDGE
        natural = sum(self._natural(i) for i in every) + extra
        return Measurement(min(natural, options.max_width), min(natural, options.max_width))

    @classmethod
    def from_rich(cls, source: Table, wrap: Iterable[str] = ()) -> FittedTable:
        """The same title, caption, columns and (plain-text) cells as a rich Table."""
        wrapped = set(wrap)
        columns = list(source.columns)
        cells = [[_plain(cell) for cell in column.cells] for column in columns]
        return cls(
            _plain(source.title) if source.title else None,
            [_plain(column.header) for column in columns],
            [list(row) for row in zip(*cells)],
            _plain(source.caption) if source.caption else None,
            [column.justify for column in columns],
            [_plain(column.header) in wrapped for column in columns],
        )


def _plain(value: object) -> str:
    return value.plain if isinstance(value, Text) else str(value)


def table(
    title: str | None,
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    caption: str | None = None,
    justify: str = "right",
    wrap: Iterable[str] = (),
) -> FittedTable:
    """A results table that fits the terminal; cells are printed as given (format numbers before;
    a cell may hold several lines). The first column is left-justified, the others as
    ``justify`` says; the columns named in ``wrap`` hold text that may wrap at its spaces."""
    wrapped = set(wrap)
    unknown = wrapped - set(columns)
    if unknown:
        raise ValueError(
            f"table: wrap names {sorted(unknown)}, which are not among the columns {list(columns)}"
        )
    return FittedTable(
        title,
        columns,
        rows,
        caption,
        ["left"] + [justify] * (len(columns) - 1),
        [column in wrapped for column in columns],
    )


# ---- charts -----------------------------------------------------------------------------------------
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


class LineChart:
    """Curves y(x), one marker per curve, drawn in a grid of ``height`` rows as wide as it is given
    (at most ``max_width``). Points are marked; the line between two is dotted; '*' marks a cell
    where several curves meet."""

    def __init__(
        self,
        curves: Mapping[str, Sequence[tuple[float, float]]],
        *,
        title: str,
        x_name: str,
        height: int = 10,
        max_width: int = 76,
        y_format: str = ".2f",
    ) -> None:
        if not curves or not all(len(points) for points in curves.values()):
            raise ValueError("LineChart: every curve needs at least one point")
        self.curves = {label: [(float(x), float(y)) for x, y in points] for label, points in curves.items()}
        self.title, self.x_name = title, x_name
        self.height, self.max_width, self.y_format = height, max_width, y_format
        self.markers = {label: _marker(k) for k, label in enumerate(self.curves)}

    def _ranges(self) -> tuple[float, float, float, float]:
        points = [p for curve in self.curves.values() for p in curve if math.isfinite(p[1])]
        xs, ys = [x for x, _ in points], [y for _, y in points]
        low, high = (min(ys), max(ys)) if ys else (0.0, 1.0)
        if high == low:
            low, high = low - 0.5, high + 0.5
        return min(xs, default=0.0), max(xs, default=1.0), low, high

    def rows(self, width: int) -> list[str]:
        """The chart as lines of at most ``width`` characters (its title and legend not included)."""
        x_low, x_high, low, high = self._ranges()
        labels = [format(value, self.y_format) for value in (high, (high + low) / 2, low)]
        label_width = max(map(len, labels))
        plot = max(8, width - label_width - 2)
        grid = [[" "] * plot for _ in range(self.height)]

        def column(x: float) -> int:
            return 0 if x_high == x_low else round((x - x_low) / (x_high - x_low) * (plot - 1))

        def row(y: float) -> int:
            return round((high - y) / (high - low) * (self.height - 1))

        for points in self.curves.values():
            finite = [(x, y) for x, y in points if math.isfinite(y)]
            for (x0, y0), (x1, y1) in zip(finite, finite[1:]):
                for c in range(column(x0) + 1, column(x1)):
                    y = y0 + (y1 - y0) * (c - column(x0)) / (column(x1) - column(x0))
                    if grid[row(y)][c] == " ":
                        grid[row(y)][c] = "·"
        for label, points in self.curves.items():
            for x, y in points:
                if not math.isfinite(y):
                    continue
                r, c = row(y), column(x)
                grid[r][c] = self.markers[label] if grid[r][c] in " ·" + self.markers[label] else "*"
        lines = []
        ticks = {0: labels[0], (self.height - 1) // 2: labels[1], self.height - 1: labels[2]}
        for r, cells in enumerate(grid):
            tick = ticks.get(r)
            lines.append(f"{tick:>{label_width}} ┤" if tick else " " * label_width + " │")
            lines[-1] += "".join(cells)
        lines.append(" " * label_width + " └" + "─" * plot)
        left, right = f"{x_low:g}", f"{x_high:g}"
        middle = f" {self.x_name} "
        gap = plot - len(left) - len(right)
        axis = left + middle.center(gap) + right if gap >= len(middle) else left + " " * max(1, gap) + right
        lines.append(" " * (label_width + 2) + axis)
        return lines

    def legend(self) -> str:
        return "   ".join(f"{marker} {label}" for label, marker in self.markers.items()) + (
            "   * several" if len(self.curves) > 1 else ""
        )

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = min(options.max_width, self.max_width)
        yield Wrapped(self.title)
        yield Text("\n".join(self.rows(width)), no_wrap=True)
        yield Wrapped(self.legend())

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(24, min(options.max_width, self.max_width))


def _marker(k: int) -> str:
    """0-9, then a-z: one character per curve."""
    return str(k) if k < 10 else chr(ord("a") + k - 10) if k < 36 else "+"
