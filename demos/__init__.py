"""The seed articles' experiments, one readable file each, run with ``python -m demos``.

Convention for a demo module (``demos/<name>.py``):

* ``NAME``: the command-line name (``python -m demos NAME``), e.g. ``"language-model"``;
* ``SUMMARY``: one line for the listing;
* ``run(args, console) -> dict``: runs the demo and returns its key numbers
  (what ``--json PATH`` writes). ``args`` is an ``argparse.Namespace`` with
  ``size`` (``"smoke"``, ``"quick"`` or ``"full"``), ``seed`` and any option the
  module added; ``console`` is the ``rich.console.Console`` to print on;
* optionally ``add_arguments(parser)`` to add the demo's own options
  (they get defaults when the demo runs under ``--all``; another demo's
  option given to this one is refused);
* optionally ``check_args(args) -> str | None``: a one-line reason to refuse
  the arguments, called before anything runs (a path that cannot be
  written, a corpus too short), so a typo does not cost a whole run.

A training demo runs seeds ``args.seed``, ``args.seed + 1``, ... (``seed_list``:
``--seeds N`` of them, else the demo's ``SEEDS[size]``, three in full and quick
mode) and reports each seed's numbers and their spread; every sentence it
prints says for how many seeds it holds. A module with ``SEEDS`` is a training
demo: ``python -m demos report`` (``demos/report.py``) runs it over many seeds
under several BLAS kernels and writes the README's results from the demos' JSON.

To add a demo, write the module and add one line to ``DEMOS`` in
``demos/__main__.py``; ``--all`` runs them in that order.

Sizes: ``full`` reproduces the seed's numbers (minutes), ``quick`` is what
``make demo`` runs (all demos together in a few minutes on two cores), and
``smoke`` (hidden ``--smoke`` flag) only checks that everything runs (seconds;
the test suite uses it).
"""

import os

# The demos' matrices are small, so one BLAS thread is fastest, and several threads
# per process on a busy two-core machine spin against each other (we measured an 8x
# slowdown). `python -m demos` imports this package before numpy, so the setting takes
# effect there; a value the user has set wins.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")


def seed_list(args: object, default: int) -> list[int]:
    """The seeds a training demo runs: args.seed, args.seed + 1, ..., ``--seeds`` of them (else
    ``default``)."""
    count = getattr(args, "seeds", None) or default
    return [args.seed + k for k in range(count)]
