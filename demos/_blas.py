"""Which BLAS kernels numpy runs, and how to choose them (for ``python -m demos report``).

numpy does its matmuls in a BLAS library; the wheels on PyPI ship OpenBLAS, which picks its kernels
(the "core type") for the CPU it runs on. Kernels differ in the last bits of a sum, and training is
chaotic: a last-bit difference in one matmul can decide whether a seed learns. So the report runs
each training demo under several kernels, chosen with OpenBLAS's ``OPENBLAS_CORETYPE``, which it
reads once, when numpy loads: each run is a separate process.
"""

from __future__ import annotations

import contextlib
import ctypes
import os

# Core types of x86-64 OpenBLAS that every CPU able to run them offers: Haswell needs AVX2 and FMA,
# SkylakeX AVX-512, Sandybridge AVX. OpenBLAS may fall back to another when the CPU lacks what one
# needs; the report records the kernel that ran.
HASWELL, SKYLAKEX, SANDYBRIDGE = "Haswell", "SkylakeX", "Sandybridge"
DEFAULT = "default"  # no OPENBLAS_CORETYPE: the kernel OpenBLAS picks for this CPU (or not OpenBLAS)
_CORENAME_FUNCTIONS = (
    "scipy_openblas_get_corename64_",
    "scipy_openblas_get_corename",
    "openblas_get_corename64_",
    "openblas_get_corename",
)


def cpu_flags() -> set[str]:
    """The CPU's feature flags as Linux lists them (empty elsewhere)."""
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    return set()


def default_kernels(flags: set[str] | None = None) -> list[str]:
    """Two OpenBLAS kernels this CPU runs: Haswell, and SkylakeX where the CPU has AVX-512
    (Sandybridge otherwise). Without OpenBLAS there is nothing to choose: [DEFAULT]."""
    if corename() is None:
        return [DEFAULT]
    flags = cpu_flags() if flags is None else flags
    return [HASWELL, SKYLAKEX if "avx512f" in flags else SANDYBRIDGE]


def _openblas() -> ctypes.CDLL | None:
    """The OpenBLAS library numpy loaded (found in this process's memory map; Linux only)."""
    with contextlib.suppress(OSError):
        with open("/proc/self/maps", encoding="utf-8") as f:
            for line in f:
                path = line.split()[-1]
                if "openblas" in os.path.basename(path).lower() and os.path.isfile(path):
                    return ctypes.CDLL(path)
    return None


def corename() -> str | None:
    """The OpenBLAS kernel that runs numpy's matmuls in this process (None: not OpenBLAS, or it
    cannot say)."""
    import numpy  # noqa: F401  (loads the library, if it is not loaded yet)

    library = _openblas()
    if library is None:
        return None
    for name in _CORENAME_FUNCTIONS:
        function = getattr(library, name, None)
        if function is not None:
            function.restype = ctypes.c_char_p
            return function().decode("ascii", "replace").strip()
    return None


def blas_info() -> dict:
    """What numpy's BLAS reports in this process: the library, its version and build, the kernel
    that runs (``corename``), and the settings that chose it."""
    import numpy as np

    build: dict = {}
    with contextlib.suppress(Exception):  # show_config's layout is numpy's to change
        build = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    return {
        "library": build.get("name"),
        "version": build.get("version"),
        "configuration": build.get("openblas configuration"),
        "corename": corename(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
    }


def environment(kernel: str) -> dict[str, str]:
    """The environment of a run under ``kernel`` (DEFAULT: OpenBLAS chooses)."""
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    if kernel != DEFAULT:
        env["OPENBLAS_CORETYPE"] = kernel
    return env
