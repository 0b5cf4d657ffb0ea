"""Files the demos write (--json, --dot, the report): checked before a run, written atomically."""

from __future__ import annotations

import os
import tempfile


def output_path_problem(path: str, option: str) -> str | None:
    """Why ``path`` cannot receive a new file (one line, naming ``option``), or None if it can.

    Checked before a demo starts, so that a typo does not cost a whole run's results.
    As for ``tinygrad_rnn.save``, a missing folder is an error, not created.
    """
    if not path:
        return f"{option}: expected a file path, got an empty string"
    if os.path.isdir(path):
        return f"{option} {path}: is a folder; expected a file path"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f"{option} {path}: the folder {folder} does not exist; create it first"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"{option} {path}: the folder {folder} is not writable"
    if os.path.exists(path) and not os.access(path, os.W_OK):
        return f"{option} {path}: the file exists and is not writable"
    return None


def new_file_mode() -> int:
    """rw-r--r--, less what the umask takes away (mkstemp's files are owner-only)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o644 & ~umask


def write_text_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename, so
    that an interrupted write leaves the old file or none, never half of a new one."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot write {path}: the folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.splitext(path)[1])
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, new_file_mode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
