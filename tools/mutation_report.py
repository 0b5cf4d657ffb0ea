"""Score of the last `mutmut run`, and the survivors that tests/surviving_mutants.py does not explain.

`make mutants` runs this after mutmut. Every mutant that no test kills must be listed in
tests/surviving_mutants.py with the reason no test can observe it; a survivor that is not
listed is either a missing test or a missing reason, so the report names it, prints its diff
and exits with status 1. Run from the repository root, in the venv that has mutmut (it reads
mutmut's own result files under mutants/).
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

from mutmut.__main__ import walk_mutatable_files
from mutmut.mutation.data import SourceFileMutationData
from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.stats import status_by_exit_code

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.surviving_mutants import SURVIVORS  # noqa: E402

NOT_KILLED = ("survived", "no tests")
NOT_RUN = "not checked"


def function_of(mutant_name: str) -> str:
    """'tinygrad_rnn.optim.xǁSGDǁstep__mutmut_3' -> 'SGD.step'; '...x_gradcheck__mutmut_2' -> 'gradcheck'."""
    mangled = mutant_name.rpartition(".")[2].rpartition("__mutmut_")[0]
    if mangled.startswith("xǁ"):
        return ".".join(mangled[2:].split("ǁ"))
    return mangled[2:]


def changed_lines(diff: str) -> tuple[str, str]:
    """The diff's removed and added lines, each stripped, joined by newlines."""
    lines = diff.splitlines()
    removed = [line[1:].strip() for line in lines if line.startswith("-") and not line.startswith("---")]
    added = [line[1:].strip() for line in lines if line.startswith("+") and not line.startswith("+++")]
    return "\n".join(removed), "\n".join(added)


def main() -> int:
    counts: Counter[tuple[str, str]] = Counter()
    explained = {(s.file, s.function, s.original, s.mutant): s for s in SURVIVORS}
    used: set[tuple[str, str, str, str]] = set()
    unexplained: list[tuple[str, str, str]] = []
    for path in walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        file = re.sub(r"^tinygrad_rnn/", "", str(path))
        for name, exit_code in data.exit_code_by_key.items():
            status = status_by_exit_code[exit_code]
            counts[file, status] += 1
            if status not in NOT_KILLED:
                continue
            diff = get_diff_for_mutant(name, path=path)
            key = (file, function_of(name), *changed_lines(diff))
            if key in explained:
                used.add(key)
            else:
                unexplained.append((name, status, diff))

    files = sorted({file for file, _ in counts})
    statuses = sorted({status for _, status in counts})
    print(f"{'file':28s}" + "".join(f"{s:>12s}" for s in statuses) + f"{'score':>9s}")
    for file in files + ["all"]:
        row = {s: sum(n for (f, st), n in counts.items() if st == s and file in (f, "all")) for s in statuses}
        # `make mutants PART=...` runs some files only: the others' mutants are "not checked",
        # and a score counts the mutants that ran.
        ran = sum(row.values()) - row.get(NOT_RUN, 0)
        caught = row.get("killed", 0) + row.get("timeout", 0)
        score = f"{100 * caught / ran:8.1f}%" if ran else f"{'-':>9s}"
        print(f"{file:28s}" + "".join(f"{row[s]:12d}" for s in statuses) + score)
    not_killed = sum(n for (_, st), n in counts.items() if st in NOT_KILLED)
    print(f"\n{not_killed - len(unexplained)} of {not_killed} mutants not killed are explained in "
          "tests/surviving_mutants.py")
    ran_files = {file for (file, status), n in counts.items() if status != NOT_RUN}
    stale = [s for key, s in explained.items() if key not in used and s.file in ran_files]
    for s in stale:
        print(f"listed, but not a survivor of this run (killed now, or its line changed): "
              f"{s.file} {s.function}: {s.original!r} -> {s.mutant!r}")
    for name, status, diff in unexplained:
        print(f"\nnot explained: {name} ({status})\n{diff}")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
