"""Checkpoints: exact round trips, atomic saves, and files that must be refused (never unpickled)."""

import errno
import os
import re
import zipfile

import numpy as np
import pytest

from tinygrad_rnn import CheckpointError, Tensor, load, save
from tinygrad_rnn.io import write_atomically
from tinygrad_rnn.nn import Linear


def sample_state():
    rng = np.random.default_rng(0)
    return {
        "weight": rng.standard_normal((3, 4)),
        "half": rng.standard_normal(5).astype(np.float32),
        "counts": np.arange(6, dtype=np.int64).reshape(2, 3),
        "mask": np.array([True, False, True]),
        "bytes": np.array([0, 255], dtype=np.uint8),
        "scalar": np.array(3.5),
        "empty": np.zeros((0, 3)),
        "layer.0.bias": np.array([np.pi]),
    }


def test_round_trip_is_exact_in_values_dtype_and_shape(tmp_path):
    path = tmp_path / "model.npz"
    state = sample_state()
    save(state, path)
    loaded = load(path)
    assert list(loaded) == list(state)
    for name, array in state.items():
        assert loaded[name].dtype == array.dtype and loaded[name].shape == array.shape, name
        np.testing.assert_array_equal(loaded[name], array)


def test_any_key_works_even_numpy_savez_argument_names(tmp_path):
    state = {"file": np.ones(2), "allow_pickle": np.zeros(1), "a/b": np.arange(3)}
    save(state, str(tmp_path / "odd.npz"))
    loaded = load(str(tmp_path / "odd.npz"))
    assert set(loaded) == set(state)
    np.testing.assert_array_equal(loaded["a/b"], np.arange(3))


def test_module_state_dict_round_trip_and_tensor_values(tmp_path):
    source, target = Linear(3, 2, rng=0), Linear(3, 2, rng=1)
    save(source.state_dict(), tmp_path / "linear.npz")
    target.load_state_dict(load(tmp_path / "linear.npz"))
    np.testing.assert_array_equal(target.weight.data, source.weight.data)
    save({"t": Tensor(np.arange(3.0))}, tmp_path / "t.npz")
    np.testing.assert_array_equal(load(tmp_path / "t.npz")["t"], np.arange(3.0))


def test_saved_file_gets_normal_permissions(tmp_path):
    save({"a": np.ones(1)}, tmp_path / "a.npz")
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(tmp_path / "a.npz").st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("bad", [np.array([object()], dtype=object), "text", np.array(["a", "b"])])
def test_non_numeric_value_names_the_key_and_writes_nothing(tmp_path, bad):
    path = tmp_path / "ckpt.npz"
    with pytest.raises(CheckpointError, match=r"save: value of 'encoder.bad' .*Nothing written"):
        save({"ok": np.ones(2), "encoder.bad": bad}, path)
    assert os.listdir(tmp_path) == []


# ---- atomic save ----------------------------------------------------------------------------
def test_failed_save_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    old = {"w": np.arange(4.0)}
    save(old, path)
    old_bytes = path.read_bytes()
    real_write = np.lib.format.write_array
    calls = []

    def write_then_fail(file, array, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # halfway: the first array is written, the second breaks off
            file.write(b"\x93NUMPY partial")
            raise OSError("disk full")
        return real_write(file, array, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", write_then_fail)
    with pytest.raises(OSError, match="disk full"):
        save({"w": np.zeros(4), "b": np.zeros(2), "c": np.zeros(1)}, path)
    monkeypatch.undo()
    assert len(calls) == 2  # the failure really happened in the middle of writing
    assert os.listdir(tmp_path) == ["ckpt.npz"]
    assert path.read_bytes() == old_bytes
    np.testing.assert_array_equal(load(path)["w"], old["w"])


def test_save_into_a_missing_directory_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"save: the directory of .*nowhere"):
        save({"w": np.zeros(2)}, tmp_path / "nowhere" / "ckpt.npz")


def test_save_replaces_an_existing_checkpoint(tmp_path):
    path = tmp_path / "ckpt.npz"
    save({"w": np.zeros(2)}, path)
    save({"v": np.ones(3)}, path)
    assert list(load(path)) == ["v"]
    assert os.listdir(tmp_path) == ["ckpt.npz"]


# ---- files that load must refuse -------------------------------------------------------------
class WritesMarker:
    """Unpickling this runs os.mkdir(marker): a stand-in for arbitrary code in a payload."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_pickled_payload_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "payload_ran"
    path = tmp_path / "evil.npz"
    np.savez(path, weight=np.ones(2), evil=np.array([WritesMarker(marker)], dtype=object))
    with pytest.raises(CheckpointError, match=r"evil\.npz.*'evil'.*pickle"):
        load(path)
    assert not marker.exists()
    # The payload is live: numpy with pickling allowed does run it (so the test above means something).
    np.load(path, allow_pickle=True)["evil"]
    assert marker.exists()


def test_plain_pickle_file_is_refused_and_never_runs(tmp_path):
    import pickle

    marker = tmp_path / "payload_ran"
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(WritesMarker(marker)))
    with pytest.raises(CheckpointError, match=r"model\.pkl.*not an \.npz checkpoint"):
        load(path)
    assert not marker.exists()


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 0.9, 0.999])
def test_truncated_file_is_an_error_naming_it(tmp_path, fraction):
    path = tmp_path / "ckpt.npz"
    save(sample_state(), path)
    data = path.read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(CheckpointError, match=r"cut\.npz"):
        load(cut)


def test_corrupted_array_data_is_an_error_naming_it(tmp_path):
    path = tmp_path / "ckpt.npz"
    save({"w": np.zeros(1000)}, path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the stored array: the zip CRC no longer matches
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"ckpt\.npz' entry 'w'.*truncated or corrupt"):
        load(path)


def test_other_files_are_refused_with_their_name(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match=r"notes\.txt"):
        load(text)
    single = tmp_path / "one.npy"
    np.save(single, np.ones(2))
    with pytest.raises(CheckpointError, match=r"one\.npy' holds a single \.npy array"):
        load(single)
    archive = tmp_path / "other.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(CheckpointError, match=r"other\.zip' entry 'readme\.txt' is bytes"):
        load(archive)
    with pytest.raises(FileNotFoundError, match=r"no checkpoint file at .*missing\.npz"):
        load(tmp_path / "missing.npz")


# ---- traps: what numpy would get silently wrong, or explain with the wrong advice ------------
def test_keys_that_collide_in_an_npz_are_refused_before_writing(tmp_path):
    path = tmp_path / "ckpt.npz"
    with pytest.raises(CheckpointError, match=r"save: nothing written to .*keys 'a' and 'a\.npy' collide"):
        save({"a": np.zeros(2), "a.npy": np.ones(3), "b": np.ones(1)}, path)
    assert os.listdir(tmp_path) == []
    # Without the check numpy reads both keys back as the same array: show the trap is real.
    np.savez(path, **{"a": np.zeros(2), "a.npy": np.ones(3)})
    with np.load(path) as raw:
        np.testing.assert_array_equal(raw["a.npy"], raw["a"])
    with pytest.raises(CheckpointError, match=r"load: '.*ckpt\.npz': keys 'a' and 'a\.npy' collide"):
        load(path)
    save({"a.npy": np.ones(3)}, path)  # alone, a name ending in .npy is fine
    np.testing.assert_array_equal(load(path)["a.npy"], np.ones(3))


@pytest.mark.parametrize("value", [np.array([1 + 2j]), np.array(["weight"]), np.array([b"raw"])])
def test_complex_and_string_arrays_are_refused_by_save(tmp_path, value):
    with pytest.raises(CheckpointError, match=r"save: value of 'w' has dtype .*real numbers .*Nothing"):
        save({"w": value}, tmp_path / "ckpt.npz")
    assert os.listdir(tmp_path) == []


def test_complex_array_in_an_npz_is_refused_by_load(tmp_path):
    np.savez(tmp_path / "c.npz", w=np.array([1 + 2j]))
    with pytest.raises(CheckpointError, match=r"c\.npz' entry 'w' is an array of dtype complex128"):
        load(tmp_path / "c.npz")


def test_pickle_and_text_files_get_their_own_message_not_numpys_advice(tmp_path):
    import pickle

    pickled, text, tiny = tmp_path / "model.pt", tmp_path / "weights.csv", tmp_path / "w.npz"
    pickled.write_bytes(pickle.dumps({"w": [1.0, 2.0]}))
    text.write_text("col1,col2\n3.0,4.0\n")
    tiny.write_text("1")  # shorter than any file header
    cases = [(pickled, "looks like a pickle"), (text, "looks like a text file"), (tiny, "looks like a text")]
    for path, what in cases:
        message = rf"{path.name}' is not an \.npz checkpoint: it {what}"
        with pytest.raises(CheckpointError, match=message) as info:
            load(path)
        assert "allow_pickle" not in str(info.value)  # numpy's advice would be to unpickle it


def test_a_file_is_described_from_its_first_64_bytes(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_bytes(b"a text file with spaces, " + b"x" * 39 + b"\x00\x01binary after the head")
    with pytest.raises(CheckpointError, match="notes.npz. is not an .npz checkpoint: it looks like a text"):
        load(path)
    path.write_bytes(b"\x00\x01\x02\x03")
    what = "its first bytes are not those of a zip archive (an .npz starts with 'PK')"
    with pytest.raises(CheckpointError, match=re.escape(f"notes.npz' is not an .npz checkpoint: {what}")):
        load(path)


def test_a_refused_state_dict_names_the_path_that_was_left_alone(tmp_path):
    with pytest.raises(CheckpointError, match=r"got ''; nothing written to '.*ckpt\.npz'"):
        save({"": np.ones(1)}, tmp_path / "ckpt.npz")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a named pipe")
def test_a_special_file_is_refused_as_invalid_and_a_folder_as_a_folder(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="is not a regular file") as info:
        save({"w": np.ones(1)}, fifo)
    assert info.value.errno == errno.EINVAL and not isinstance(info.value, IsADirectoryError)
    with pytest.raises(IsADirectoryError, match="is a folder"):
        save({"w": np.ones(1)}, tmp_path)


def test_the_temporary_file_is_hidden_in_the_targets_folder_until_the_rename(tmp_path):
    seen = []

    def write(file):
        file.write(b"new")
        seen.extend(os.listdir(tmp_path))

    write_atomically(str(tmp_path / "ckpt.npz"), write)
    [temporary] = seen  # next to the target (the same file system, so the rename is atomic)
    assert temporary.startswith(".ckpt.npz.") and temporary.endswith(".tmp")  # hidden, named for its target
    assert os.listdir(tmp_path) == ["ckpt.npz"] and (tmp_path / "ckpt.npz").read_bytes() == b"new"


def test_text_is_written_as_utf8_whatever_the_locale(tmp_path, ascii_locale):
    # Under the C locale (ASCII), open()'s default encoding could not write the demos' non-ASCII text.
    path = tmp_path / "out.md"
    write_atomically(str(path), lambda f: f.write("\u00e9 \u2014 \u00d7"), binary=False)
    assert path.read_bytes() == "\u00e9 \u2014 \u00d7".encode()


def test_a_member_over_the_zip64_limit_is_written(tmp_path, monkeypatch):
    # force_zip64: a member's size is known only after it is written, and one over the zip64 limit
    # (2 GiB) needs the zip64 header from the start. The limit is lowered here to need no 2 GiB array.
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 1024)
    save({"w": np.arange(1000.0)}, tmp_path / "big.npz")
    monkeypatch.undo()
    np.testing.assert_array_equal(load(tmp_path / "big.npz")["w"], np.arange(1000.0))
