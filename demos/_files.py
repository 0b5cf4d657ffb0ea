"""Files the demos write (--json, --dot, the report): checked before a run, written atomically."""

from __future__ import annotations

import os

from tinygrad_rnn.io import write_atomically


def output_path_problem(path: str, option: str) -> str | None:
    """Why ``path`` cannot receive a new file (one line, naming ``option``), or None if it can.

    Checked before a demo starts, so that a typo does not cost a whole run's results.
    As for ``tinygrad_rnn.save``, a missing folder is an error, not created.
    """
    if not path:
        return f"{option}: expected a file path, got an empty string"
    if os.path.isdir(path):
        return f"{option} {path}: is a folder; expected a file path"
    if os.path.exists(path) and not os.path.isfile(path):  # through symlinks: /dev/full, a pipe
        return f"{option} {path}: is not a regular file (a device or a pipe?); expected a file path"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f"{option} {path}: the folder {folder} does not exist; create it first"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"{option} {path}: the folder {folder} is not writable"
    if os.path.exists(path) and not os.access(path, os.W_OK):
        return f"{option} {path}: the file exists and is not writable"
    return None


def write_text_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename, so
    that an interrupted write leaves the old file or none, never half of a new one (rw-r--r--)."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot write {path}: the folder {folder} does not exist")
    write_atomically(path, lambda file: file.write(text), binary=False, permissions=0o644)
