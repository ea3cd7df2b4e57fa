"""Shared set-up for the unit tests and for nbval's notebook kernels."""

import os
import tempfile

import pytest

from cnn_lesson import kernel


def pytest_configure(config):
    if not kernel.is_installed():
        pytest.exit(
            "The notebook kernels of this environment are not configured yet, so "
            "TensorFlow's start-up lines would end up in the outputs nbval "
            "compares. Run `make setup` (or `python -m cnn_lesson.kernel`) once, "
            "then run the tests again.",
            returncode=4,
        )
    # Notebooks save their figures; under test they must not overwrite the
    # committed ones in fig/. The kernels nbval starts inherit this variable.
    os.environ["CNN_LESSON_FIG_DIR"] = tempfile.mkdtemp(prefix="cnn-lesson-fig-")
