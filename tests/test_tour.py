"""The links in docs/TOUR.md and README.md point at real files, real lines, and the code they name.

A link such as [`Tensor.backward`](../tinygrad_rnn/tensor.py#L402-L427) is checked three ways:

* the file exists, inside the repository (the docs must not lean on files outside it);
* 1 <= 402 <= 427 <= the number of lines of the file;
* the name in backticks is defined there, and the range is exactly that definition:
  the ``def backward`` inside ``class Tensor``, found with ast, from its first line
  (decorators included; comment lines directly above may be included too) to its last.
  ``#L402`` alone, the def/class line, is also accepted. Exact spans catch every move,
  growth or shrinkage of the code.

A link whose backticked text is a code fragment rather than a name, e.g.
[`for t in reversed(range(T))`](...#L562-L564), must have the fragment on the range's first
line. Every link with a line anchor must name its code in backticks; anchors into markdown
files must be headings. Code moves: a failure says where the name or fragment is now and
which anchor to use, and ``python tests/test_tour.py --fix`` rewrites stale anchors.
"""

from __future__ import annotations

import ast
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOUR = ROOT / "docs" / "TOUR.md"
README = ROOT / "README.md"
MAX_FRAGMENT_RANGE = 30  # a fragment link shows a few lines, not a whole file

# A code span is consumed whole (so `a[0](b)` in code is not a link); a link's text may hold code spans.
_LINK_OR_CODE = re.compile(r"`[^`\n]*`|!?\[((?:`[^`\n]*`|[^\]`\n])*)\]\(([^()\s]*)\)")
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_LINE_ANCHOR = re.compile(r"L(\d+)(?:-L(\d+))?")
_DOTTED_NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:")


@dataclass(frozen=True)
class Link:
    doc: Path
    line: int  # 1-based line in doc
    text: str
    target: str


@dataclass(frozen=True)
class Problem:
    link: Link
    message: str
    fixed_target: str | None = None  # the target to write instead, when the fix is known

    def __str__(self) -> str:
        hint = f" -> use ({self.fixed_target})" if self.fixed_target else ""
        link = self.link
        return f"{link.doc.name}:{link.line}: [{link.text}]({link.target}): {self.message}{hint}"


# ---- reading markdown ------------------------------------------------------------------------------
def _prose_lines(markdown: str) -> list[str]:
    """The document's lines with fenced code blocks blanked (line numbers are kept)."""
    lines, fence = [], None
    for line in markdown.splitlines():
        stripped = line.lstrip()
        if fence is None and stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
            lines.append("")
        elif fence is not None:
            if stripped.startswith(fence):
                fence = None
            lines.append("")
        else:
            lines.append(line)
    return lines


def find_links(doc: Path) -> tuple[list[Link], list[Problem]]:
    """Every inline link outside code, and a problem for each ``](`` that did not parse as one."""
    links, problems = [], []
    for number, line in enumerate(_prose_lines(doc.read_text(encoding="utf-8")), start=1):
        found = 0
        for match in _LINK_OR_CODE.finditer(line):
            if match.group(0).startswith("`"):
                continue
            links.append(Link(doc, number, match.group(1), match.group(2)))
            found += 1
        if _CODE_SPAN.sub("", line).count("](") > found:
            bad = Link(doc, number, "?", line.strip())
            problems.append(Problem(bad, "a link here did not parse (a space or parenthesis in its target?)"))
    return links, problems


def heading_slugs(markdown: str) -> set[str]:
    """GitHub's anchors for the headings: lower case, punctuation dropped, spaces to '-', repeats numbered."""
    slugs: set[str] = set()
    for line in _prose_lines(markdown):
        match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        slug = re.sub(r"[^\w\- ]", "", match.group(1).lower()).replace(" ", "-")
        candidate, n = slug, 0
        while candidate in slugs:
            n += 1
            candidate = f"{slug}-{n}"
        slugs.add(candidate)
    return slugs


# ---- reading python ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Definition:
    top: int  # first of the comment lines directly above (start if there are none)
    start: int  # first line, decorators included
    line: int  # the def / class / assignment line
    end: int


def definitions(source: str) -> dict[str, Definition]:
    """Qualified name -> lines of every class, function and module/class-level assignment."""
    lines = source.splitlines()
    found: dict[str, Definition] = {}
    stack: list[tuple[str, ast.AST]] = [("", ast.parse(source))]
    while stack:
        prefix, node = stack.pop()
        for child in getattr(node, "body", []):
            names: list[str] = []
            if isinstance(child, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                names = [child.name]
                stack.append((f"{prefix}{child.name}.", child))
            elif isinstance(child, ast.Assign):
                names = [t.id for t in child.targets if isinstance(t, ast.Name)]
            elif isinstance(child, ast.AnnAssign) and isinstance(child.target, ast.Name):
                names = [child.target.id]
            decorators = getattr(child, "decorator_list", [])
            start = min([d.lineno for d in decorators] + [child.lineno])
            top = start
            while top > 1 and lines[top - 2].lstrip().startswith("#"):
                top -= 1
            for name in names:
                found.setdefault(prefix + name, Definition(top, start, child.lineno, child.end_lineno))
    return found


def _python_files(root: Path) -> list[Path]:
    return sorted(
        p for p in root.rglob("*.py") if not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def _anchor(start: int, end: int) -> str:
    return f"L{start}" if start == end else f"L{start}-L{end}"


# ---- checking one link -------------------------------------------------------------------------------
def check_link(link: Link, root: Path) -> Problem | None:
    """None if the link is good, else what is wrong (and the corrected target when it is known)."""
    if _URL.match(link.target):
        return None  # a web address: not checked here (cite the seeds by number and title instead)
    path_part, _, fragment = link.target.partition("#")
    path = (link.doc.parent / path_part).resolve() if path_part else link.doc.resolve()
    root = root.resolve()
    if root not in path.parents and path != root:
        return Problem(link, f"points outside the repository ({path}); the docs must be self-contained")
    shown = path.relative_to(root).as_posix()
    if not path.exists():
        return Problem(link, f"{shown} does not exist")
    if not fragment:
        return None
    anchor = _LINE_ANCHOR.fullmatch(fragment)
    if path.suffix == ".md":
        if anchor or fragment not in heading_slugs(path.read_text(encoding="utf-8")):
            return Problem(link, f"#{fragment} is not a heading of {shown}")
        return None
    if anchor is None:
        return Problem(link, f"#{fragment} is not a line anchor of the form #L12 or #L12-L30")
    first, last = int(anchor.group(1)), int(anchor.group(2) or anchor.group(1))
    lines = path.read_text(encoding="utf-8").splitlines()
    if not 1 <= first <= last <= len(lines):
        return Problem(link, f"lines {first}-{last} are not a range within {shown}'s {len(lines)} lines")
    code = _CODE_SPAN.search(link.text)
    if code is None:
        return Problem(
            link, "a link to lines must name the code it shows in backticks, e.g. [`Tensor.backward`]"
        )
    named = code.group(0).strip("`").strip()
    base = f"{path_part}#"
    name = named.removesuffix("()")
    if path.suffix == ".py" and _DOTTED_NAME.fullmatch(name):
        return _check_name(link, root, path, shown, name, first, last, base)
    return _check_fragment(link, lines, shown, named, first, last, base)


def _check_name(
    link: Link, root: Path, path: Path, shown: str, name: str, first: int, last: int, base: str
) -> Problem | None:
    found = definitions(path.read_text(encoding="utf-8")).get(name)
    if found is None:
        elsewhere = [
            f"{p.relative_to(root).as_posix()}:{d.line}"
            for p in _python_files(root)
            if (d := definitions(p.read_text(encoding="utf-8")).get(name)) is not None
        ]
        where = (
            f"; it is defined at {', '.join(elsewhere)}" if elsewhere else " (nor anywhere in the repository)"
        )
        return Problem(link, f"`{name}` is not defined in {shown}{where}")
    if (found.top <= first <= found.start and last == found.end) or first == last == found.line:
        return None
    fixed = found.line if first == last else None  # keep the one-line form
    return Problem(
        link,
        f"`{name}` is now at {shown}:{found.line} (lines {found.start}-{found.end}); the link's lines "
        f"{first}-{last} must be exactly that span (or just line {found.line})",
        base + (_anchor(fixed, fixed) if fixed else _anchor(found.start, found.end)),
    )


def _check_fragment(
    link: Link, lines: list[str], shown: str, fragment: str, first: int, last: int, base: str
) -> Problem | None:
    if fragment in lines[first - 1] and last - first < MAX_FRAGMENT_RANGE:
        return None
    now = [number for number, line in enumerate(lines, start=1) if fragment in line]
    if not now:
        return Problem(link, f"`{fragment}` does not occur in {shown}")
    where = ", ".join(f"{shown}:{n}" for n in now)
    length = min(last - first, MAX_FRAGMENT_RANGE - 1)
    fixed = base + _anchor(now[0], min(now[0] + length, len(lines))) if len(now) == 1 else None
    return Problem(
        link,
        f"`{fragment}` must be on the range's first line ({first}, a range under {MAX_FRAGMENT_RANGE} "
        f"lines); it is now at {where}",
        fixed,
    )


def check_document(doc: Path, root: Path = ROOT) -> list[Problem]:
    links, problems = find_links(doc)
    return problems + [p for link in links if (p := check_link(link, root)) is not None]


def fix_document(doc: Path, root: Path = ROOT) -> list[Problem]:
    """Rewrite every stale anchor whose correction is known; return the problems left."""
    fixable = [p for p in check_document(doc, root) if p.fixed_target is not None]
    if fixable:  # write only when something changes (other people may be editing the file)
        lines = doc.read_text(encoding="utf-8").split("\n")
        for problem in fixable:
            link, new = problem.link, problem.fixed_target
            old_link, new_link = f"[{link.text}]({link.target})", f"[{link.text}]({new})"
            lines[link.line - 1] = lines[link.line - 1].replace(old_link, new_link, 1)
        doc.write_text("\n".join(lines), encoding="utf-8")
    return check_document(doc, root)


# ---- the real documents --------------------------------------------------------------------------------
@pytest.mark.parametrize("doc", [TOUR, README], ids=lambda p: p.name)
def test_every_link_points_at_a_real_file_line_range_and_definition(doc):
    assert doc.exists(), f"{doc} is missing"
    problems = check_document(doc)
    assert not problems, "stale links (python tests/test_tour.py --fix updates anchors):\n" + "\n".join(
        map(str, problems)
    )


def test_tour_follows_the_reading_order_with_line_links():
    """tensor.py -> ops.py -> gradcheck -> nn/steps.py (time loop in nn/recurrent.py) -> bookkeeping.py
    -> fused.py -> a demo, each with links to its lines."""
    links, _ = find_links(TOUR)
    first_seen: dict[str, int] = {}
    for index, link in enumerate(links):
        path = link.target.partition("#")[0]
        if "#L" in link.target:
            first_seen.setdefault(Path(path).as_posix().removeprefix("../"), index)
    order = [
        "tinygrad_rnn/tensor.py",
        "tinygrad_rnn/ops.py",
        "tinygrad_rnn/gradcheck.py",
        "tinygrad_rnn/nn/steps.py",
        "tinygrad_rnn/nn/recurrent.py",
        "tinygrad_rnn/bookkeeping.py",
        "tinygrad_rnn/fused.py",
    ]
    missing = [name for name in order if name not in first_seen]
    assert not missing, f"the tour has no line link into {missing}"
    positions = [first_seen[name] for name in order]
    assert positions == sorted(positions), (
        f"the first line links into {order} are not in that order: {positions}"
    )
    demo_links = [i for name, i in first_seen.items() if name.startswith("demos/")]
    assert demo_links and min(demo_links) > positions[-1], "the tour should reach a demo after fused.py"


def test_tour_says_which_seed_it_means():
    """ "Seed" is either a source article ("seed article 003") or a random seed; the tour says which."""
    prose = " ".join(_CODE_SPAN.sub("", line) for line in _prose_lines(TOUR.read_text(encoding="utf-8")))
    prose = re.sub(r"\s+", " ", prose)
    unqualified = [
        prose[max(0, m.start() - 30) : m.end() + 30]
        for m in re.finditer(r"\bseeds?\b", prose, flags=re.IGNORECASE)
        if not prose[m.end() :].startswith((" article", " Article"))
        and not prose[: m.start()].lower().endswith("random ")
    ]
    assert not unqualified, f"say 'seed article' or 'random seed': {unqualified}"
    cited = set(re.findall(r"seed articles? (\d{3})", prose))
    assert cited == {"000", "001", "002", "003", "004"}, f"the tour cites seed articles {sorted(cited)}"


def _demo_names() -> set[str]:
    """NAME = "..." of every demo module, read without importing the demos."""
    names = set()
    for path in (ROOT / "demos").glob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "NAME" for t in node.targets):
                names.add(ast.literal_eval(node.value))
    return names


def test_every_demo_command_in_the_docs_names_a_real_demo():
    demos = _demo_names() | {"report"}  # `python -m demos report` is a subcommand, not a demo
    commands = {
        doc.name: set(re.findall(r"python -m demos ([a-z][a-z_-]*)", doc.read_text(encoding="utf-8")))
        for doc in (TOUR, README)
    }
    for doc, named in commands.items():
        assert named <= demos, (
            f"{doc} runs demos that do not exist: {sorted(named - demos)} (demos: {sorted(demos)})"
        )
    required = {"bptt", "graph", "dependencies", "vanishing"}
    assert required <= commands["TOUR.md"], (
        f"the tour never shows how to run {sorted(required - commands['TOUR.md'])}"
    )


# ---- the checker itself, on a small repository written here (line numbers known by construction) -----
MODULE = textwrap.dedent(
    '''\
    """A module."""


    class Box:
        """A box."""

        def open(self):
            return 1


    @staticmethod
    def helper():
        x = 1
        return x


    # The limit,
    # in steps.
    LIMIT = 3
    '''
)
# Box: lines 4-8, Box.open: 7-8, helper: 11 (decorator) / 12 (def) - 14, LIMIT: 19 (comments 17-18).


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "mod.py").write_text(MODULE)
    (root / "docs").mkdir()
    (tmp_path / "outside.txt").write_text("a real file, but not in the repository\n")
    return root


def _write_doc(root: Path, body: str) -> Path:
    doc = root / "docs" / "doc.md"
    doc.write_text(textwrap.dedent(body))
    return doc


def test_checker_accepts_good_links(repo):
    doc = _write_doc(
        repo,
        """\
        # Title
        ## Next steps
        [`Box`](../pkg/mod.py#L4-L8) and [`Box.open()`](../pkg/mod.py#L7-L8),
        [`helper`](../pkg/mod.py#L11-L14), [`helper`](../pkg/mod.py#L12) (just the def line),
        [`LIMIT`](../pkg/mod.py#L19), [`LIMIT`](../pkg/mod.py#L17-L19) (with its comment),
        [the module](../pkg/mod.py), [`x = 1`](../pkg/mod.py#L13-L14), [next](#next-steps),
        [web](https://example.org/a_b), ![pic](../pkg/mod.py)
        ```python
        y = a[0](../nowhere.py#L1)
        ```
        Inline code is not a link: `a[0](b)`.
        """,
    )
    assert check_document(doc, repo) == []
    links, _ = find_links(doc)
    assert [link.target for link in links][:2] == ["../pkg/mod.py#L4-L8", "../pkg/mod.py#L7-L8"]
    assert len(links) == 11  # the fenced block and the inline code span hold none


@pytest.mark.parametrize(
    ("link", "expected", "fixed"),
    [
        ("[`x`](../pkg/missing.py)", "pkg/missing.py does not exist", None),
        ("[`x`](../../outside.txt)", "points outside the repository", None),
        ("[`Box`](../pkg/mod.py#L0-L8)", "lines 0-8 are not a range within pkg/mod.py's 19 lines", None),
        ("[`Box`](../pkg/mod.py#L8-L4)", "lines 8-4 are not a range", None),
        ("[`LIMIT`](../pkg/mod.py#L19-L20)", "lines 19-20 are not a range", None),
        ("[Box](../pkg/mod.py#L4-L8)", "must name the code it shows in backticks", None),
        ("[`Box`](../pkg/mod.py#Box)", "not a line anchor", None),
        ("[`Box`](#nowhere)", "#nowhere is not a heading of docs/doc.md", None),
        # the code moved: the message says where it is now, and the fix is the whole definition
        ("[`helper`](../pkg/mod.py#L4-L8)", "`helper` is now at pkg/mod.py:12 (lines 11-14)", "#L11-L14"),
        ("[`Box.open`](../pkg/mod.py#L6-L7)", "`Box.open` is now at pkg/mod.py:7 (lines 7-8)", "#L7-L8"),
        ("[`Box`](../pkg/mod.py#L3-L7)", "`Box` is now at pkg/mod.py:4 (lines 4-8)", "#L4-L8"),  # one down
        ("[`helper`](../pkg/mod.py#L12-L15)", "(lines 11-14)", "#L11-L14"),  # one up
        ("[`helper`](../pkg/mod.py#L13)", "(or just line 12)", "#L12"),  # the one-line form is kept
        # the range runs past the end of the definition, or stops inside it
        ("[`Box`](../pkg/mod.py#L4-L9)", "`Box` is now at pkg/mod.py:4 (lines 4-8)", "#L4-L8"),
        ("[`Box`](../pkg/mod.py#L4-L7)", "must be exactly that span", "#L4-L8"),
        ("[`LIMIT`](../pkg/mod.py#L16-L19)", "pkg/mod.py:19 (lines 19-19)", "#L19"),  # a blank is no comment
        (
            "[`Box.close`](../pkg/mod.py#L4-L8)",
            "`Box.close` is not defined in pkg/mod.py (nor anywhere",
            None,
        ),
        ("[`x = 1`](../pkg/mod.py#L12-L13)", "`x = 1` must be on the range's first line (12", "#L13-L14"),
        ("[`y = 2`](../pkg/mod.py#L13)", "`y = 2` does not occur in pkg/mod.py", None),
    ],
)
def test_checker_reports_bad_links_and_where_the_code_is_now(repo, link, expected, fixed):
    doc = _write_doc(repo, f"# Title\n\nSee {link} here.\n")
    problems = check_document(doc, repo)
    assert len(problems) == 1, problems
    assert expected in problems[0].message
    assert problems[0].link.line == 3
    assert problems[0].fixed_target == (None if fixed is None else "../pkg/mod.py" + fixed)


def test_checker_names_the_file_that_now_defines_a_moved_name(repo):
    (repo / "pkg" / "other.py").write_text("\n\ndef moved():\n    pass\n")
    doc = _write_doc(repo, "[`moved`](../pkg/mod.py#L1)\n")
    (problem,) = check_document(doc, repo)
    assert "it is defined at pkg/other.py:3" in problem.message


def test_checker_reports_a_link_it_cannot_parse(repo):
    doc = _write_doc(repo, "[`Box`](../pkg/mod.py#L4-L8 'a title')\n")
    (problem,) = check_document(doc, repo)
    assert "did not parse" in problem.message


def test_fix_rewrites_stale_anchors_and_leaves_the_rest(repo):
    doc = _write_doc(
        repo,
        """\
        # T
        [`helper`](../pkg/mod.py#L1-L3) and [`Box`](../pkg/mod.py#L4-L8).
        [`x = 1`](../pkg/mod.py#L2-L3) then [`gone`](../pkg/mod.py#L1).
        """,
    )
    left = fix_document(doc, repo)
    assert [p.link.text for p in left] == ["`gone`"]
    assert doc.read_text().splitlines()[1:] == [
        "[`helper`](../pkg/mod.py#L11-L14) and [`Box`](../pkg/mod.py#L4-L8).",
        "[`x = 1`](../pkg/mod.py#L13-L14) then [`gone`](../pkg/mod.py#L1).",
    ]


def test_heading_slugs_follow_github():
    text = "# Where to read next\n## BPTT, by hand!\n## BPTT, by hand!\n```\n# not a heading\n```\n"
    assert heading_slugs(text) == {"where-to-read-next", "bptt-by-hand", "bptt-by-hand-1"}


if __name__ == "__main__":
    if sys.argv[1:] != ["--fix"]:
        sys.exit(
            "usage: python tests/test_tour.py --fix  (rewrites stale line anchors in docs/TOUR.md, README.md)"
        )
    remaining = [problem for doc in (TOUR, README) for problem in fix_document(doc)]
    print("\n".join(map(str, remaining)) or "all links are good")
    sys.exit(1 if remaining else 0)
