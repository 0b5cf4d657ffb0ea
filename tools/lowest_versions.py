"""Print the lowest versions pyproject.toml declares, pinned exactly (`numpy==2.0`), one per line.

`make test-oldest` installs these into a separate venv and runs the suite, so that a
lower bound such as numpy>=2.0 is one the code has actually been tested with.
Only `>=` bounds are pinned; ruff is left out (linting is `make test`'s job, and its
rules differ between versions).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10 has no tomllib
    tomllib = None

LEFT_OUT = {"ruff"}
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][A-Za-z0-9.]*)\s*$")


def requirements(pyproject: Path, extras: list[str]) -> list[str]:
    if tomllib is None:
        sys.exit("lowest_versions.py needs Python 3.11+ (tomllib) to read pyproject.toml")
    project = tomllib.loads(pyproject.read_text())["project"]
    listed = list(project.get("dependencies", []))
    for extra in extras:
        listed += project.get("optional-dependencies", {})[extra]
    return listed


def pins(listed: list[str]) -> list[str]:
    pinned = []
    for requirement in listed:
        match = REQUIREMENT.match(requirement)
        if match is None:
            sys.exit(f"lowest_versions.py: cannot pin {requirement!r} (expected 'name>=version')")
        name, version = match.groups()
        if name.lower() not in LEFT_OUT:
            pinned.append(f"{name}=={version}")
    return pinned


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    print("\n".join(pins(requirements(root / "pyproject.toml", extras=sys.argv[1:]))))
