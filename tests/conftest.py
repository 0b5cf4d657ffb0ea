"""Hypothesis profiles: `ci` is reproducible and bounded, `thorough` explores more.

Select with HYPOTHESIS_PROFILE (make test uses ci, make test-thorough uses thorough).
"""

import locale
import os
import sys

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=40,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough",
    deadline=None,
    max_examples=500,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def ascii_locale():
    """LC_CTYPE set to the C locale for one test, so that open()'s default encoding is ASCII.

    In-process rather than in a subprocess, so that mutmut sees which tests reach the code.
    """
    if sys.flags.utf8_mode:
        pytest.skip("Python runs in UTF-8 mode: open() defaults to UTF-8 whatever the locale")
    saved = locale.setlocale(locale.LC_CTYPE)
    try:
        locale.setlocale(locale.LC_CTYPE, "C")
        if locale.getpreferredencoding(False).lower().replace("-", "") == "utf8":
            pytest.skip("the C locale's encoding is UTF-8 here")
        yield
    finally:
        locale.setlocale(locale.LC_CTYPE, saved)
