"""The parity tests compare with PyTorch, which is optional: without torch, this folder is skipped.

`make parity` installs torch (CPU) into the venv and runs the folder.
"""

import importlib.util

if importlib.util.find_spec("torch") is None:
    collect_ignore_glob = ["test_*.py"]
