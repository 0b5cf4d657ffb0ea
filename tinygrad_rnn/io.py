"""Checkpoints: a state dict stored as an .npz file (a zip of .npy arrays), never as a pickle.

save() writes a temporary file next to the target and renames it into place,
so a crash or error halfway leaves the previous checkpoint whole. load() reads
with allow_pickle=False: a file that would need unpickling (which can run any
code) is refused, never executed.
"""

from __future__ import annotations

import errno
import os
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from typing import IO, Any

import numpy as np

__all__ = ["save", "load", "CheckpointError"]

# Real numbers only: bool, signed/unsigned integers, floats. Object, string, bytes and
# structured arrays are refused (object arrays would need pickle); so is complex, which
# no Tensor holds and which casting into a parameter would silently cut to its real part.
_NUMERIC_KINDS = "biuf"

# The first bytes of the files people mistake for checkpoints, to say what a file is.
_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"  # a zip with no members: what save() writes for an empty state dict
_NPY_MAGIC = b"\x93NUMPY"


class CheckpointError(ValueError):
    """A checkpoint cannot be written or read (the message names the file and why)."""


def save(state_dict: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Write ``state_dict`` (name -> numeric array or Tensor) to ``path`` as .npz, atomically.

    The file is written exactly at ``path`` (no ".npz" is appended). Every value is
    checked before anything is written; an unsuitable one raises CheckpointError
    naming its key.
    """
    path = os.fspath(path)
    arrays = _numeric_arrays(state_dict, path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"save: the directory of '{path}' does not exist ({directory})")
    write_atomically(path, lambda file: _write_npz(file, arrays), op="save")


def write_atomically(
    path: str, write: Callable[[IO], None], binary: bool = True, permissions: int = 0o666, op: str = "write"
) -> None:
    """Call ``write(file)`` on a temporary file in path's folder, then rename it to ``path``: an
    interrupted write leaves the old file or none, never half of a new one. The new file gets
    ``permissions`` less the umask, as open() would (mkstemp's files are owner-only).

    Only a regular file or a new path is ever replaced: a symlink is written through (its
    target gets the new file, the link stays), and a folder, a device (/dev/full) or another
    special file is refused, since renaming onto it would replace it. Errors name ``path``.
    """
    target = os.path.realpath(path)  # through every symlink
    if os.path.exists(target) and not os.path.isfile(target):
        kind = "a folder" if os.path.isdir(target) else "not a regular file (a device, a pipe, a socket?)"
        through = f" (through the symlink, {target})" if target != os.path.abspath(path) else ""
        raise OSError(  # IsADirectoryError for a folder
            errno.EISDIR if os.path.isdir(target) else errno.EINVAL,
            f"{op}: '{path}'{through} is {kind}; give the path of a file to write",
        )
    directory = os.path.dirname(target)
    try:
        prefix = "." + os.path.basename(target) + "."
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=prefix, suffix=".tmp")
    except OSError as err:  # e.g. a folder we may not write in: name the user's path, not the temporary one
        raise OSError(err.errno, f"{op}: cannot write '{path}': {err.strerror} (in {directory})") from None
    try:
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, permissions & ~umask)
        os.replace(temporary, target)
    except BaseException:  # also KeyboardInterrupt: no temporary file is left behind
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def load(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a checkpoint written by save() (or any .npz of numeric arrays): name -> array.

    A missing file raises FileNotFoundError; a file that is not an .npz of plain
    arrays (another format, a truncated or corrupt zip, an object array that would
    need unpickling) raises CheckpointError naming the file.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no checkpoint file at '{path}'")
    if os.path.isdir(path):
        raise CheckpointError(f"load: '{path}' is a directory, not an .npz checkpoint")
    with open(path, "rb") as file:
        head = file.read(64)
    if not head:
        raise CheckpointError(f"load: '{path}' is empty, not an .npz checkpoint")
    if not head.startswith((_ZIP_MAGIC, _EMPTY_ZIP_MAGIC, _NPY_MAGIC)):
        # np.load would try to unpickle it and suggest allow_pickle=True: advice to refuse.
        raise CheckpointError(f"load: '{path}' is not an .npz checkpoint: {_what_file(head)}")
    try:
        contents = np.load(path, allow_pickle=False)
    except ValueError as err:
        raise CheckpointError(f"load: '{path}' is not an .npz checkpoint ({err})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as err:
        raise CheckpointError(f"load: '{path}' is not a readable .npz checkpoint ({err})") from None
    if not isinstance(contents, np.lib.npyio.NpzFile):
        raise CheckpointError(
            f"load: '{path}' holds a single .npy array, not an .npz checkpoint of named arrays"
        )
    with contents:
        _refuse_ambiguous_names(contents.files, f"load: '{path}'")
        return {name: _read_member(contents, name, path) for name in contents.files}


def _what_file(head: bytes) -> str:
    """A short description of a file that is not a checkpoint, from its first bytes."""
    if head[:1] == b"\x80":  # the PROTO opcode that starts every pickle of protocol 2 and later
        return (
            "it looks like a pickle (e.g. pickle.dump or an old torch.save), which is never loaded here "
            "because unpickling can run arbitrary code; convert the tensors to numpy arrays and write them "
            "with tinygrad_rnn.save"
        )
    if all(byte >= 0x20 or byte in b"\t\n\r" for byte in head):  # UTF-8 text has no control bytes
        return "it looks like a text file; checkpoints are written with tinygrad_rnn.save"
    return "its first bytes are not those of a zip archive (an .npz starts with 'PK')"


def _refuse_ambiguous_names(names: list[str], where: str) -> None:
    """Keys 'a' and 'a.npy' cannot share an .npz: key 'a' is stored as the member 'a.npy', and
    numpy looks a key up as a member name first, so key 'a.npy' reads back key 'a''s array."""
    present = set(names)
    clashes = [f"'{n[:-4]}' and '{n}'" for n in names if n.endswith(".npy") and n[:-4] in present]
    if clashes:
        raise CheckpointError(
            f"{where}: keys {', '.join(clashes)} collide in an .npz (both read back as the same array); "
            "rename one of them"
        )


def _read_member(contents: np.lib.npyio.NpzFile, name: str, path: str) -> np.ndarray:
    try:
        value = contents[name]
    except ValueError as err:
        if "pickle" in str(err):
            raise CheckpointError(
                f"load: '{path}' entry '{name}' is an object array stored with pickle; refusing "
                "to unpickle it (that could run arbitrary code)"
            ) from None
        raise CheckpointError(f"load: '{path}' entry '{name}' is damaged ({err})") from None
    except Exception as err:  # zip and zlib errors, EOF: a truncated or corrupt file
        raise CheckpointError(
            f"load: '{path}' entry '{name}' cannot be read; the file is truncated or corrupt "
            f"({type(err).__name__}: {err})"
        ) from None
    if not isinstance(value, np.ndarray) or value.dtype.kind not in _NUMERIC_KINDS:
        what = f"an array of dtype {value.dtype}" if isinstance(value, np.ndarray) else type(value).__name__
        raise CheckpointError(f"load: '{path}' entry '{name}' is {what}, not a numeric array")
    return value


def _numeric_arrays(state_dict: Mapping[str, Any], path: str) -> dict[str, np.ndarray]:
    if not isinstance(state_dict, Mapping):
        raise CheckpointError(
            f"save: expected a mapping of name -> array (e.g. model.state_dict()), "
            f"got {type(state_dict).__name__}; nothing written to '{path}'"
        )
    arrays = {}
    for key, value in state_dict.items():
        if not isinstance(key, str) or not key:
            raise CheckpointError(
                f"save: keys must be non-empty strings, got {key!r}; nothing written to '{path}'"
            )
        try:
            array = np.asarray(value)
        except Exception as err:
            raise CheckpointError(
                f"save: value of '{key}' is not an array ({err}); nothing written to '{path}'"
            ) from None
        if array.dtype.kind not in _NUMERIC_KINDS:
            raise CheckpointError(
                f"save: value of '{key}' has dtype {array.dtype} ({type(value).__name__}); only arrays of "
                f"real numbers (bool, int, float) can be saved (no pickle, no complex). "
                f"Nothing written to '{path}'"
            )
        arrays[key] = array
    _refuse_ambiguous_names(list(arrays), f"save: nothing written to '{path}'")
    return arrays


def _write_npz(file: Any, arrays: Mapping[str, np.ndarray]) -> None:
    """The .npz layout np.load expects: one '<name>.npy' zip member per array.

    Written member by member (rather than with np.savez(**arrays)) so that any
    key works, even one called 'file' or 'allow_pickle', and pickling is off.
    """
    with zipfile.ZipFile(file, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            with archive.open(name + ".npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)
