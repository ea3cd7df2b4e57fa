"""The project's code, tests and notebooks pass ruff's checks.

Ruff reads notebooks itself. The scripts in notebooks/py/ hold the same code
as the notebooks, and the learner copies in notebooks/learner/ are generated
from them, so both are left out rather than reported twice.
"""

import subprocess
import sys

from cnn_lesson.paths import PROJECT_ROOT

PATHS = ["cnn_lesson", "tests", "benchmarks", "notebooks"]
EXCLUDED = ["notebooks/py", "notebooks/learner"]


def ruff(*args):
    return subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _excluding():
    return [arg for path in EXCLUDED for arg in ("--extend-exclude", path)]


def test_ruff_finds_nothing_to_fix():
    done = ruff(*PATHS, *_excluding())
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_reads_the_notebooks_and_leaves_out_their_copies():
    listed = ruff("--show-files", *PATHS, *_excluding()).stdout.splitlines()
    shown = [line.replace("\\", "/") for line in listed]
    notebooks = sorted((PROJECT_ROOT / "notebooks").glob("[0-9]*.ipynb"))
    assert notebooks
    for notebook in notebooks:
        assert any(line.endswith(f"notebooks/{notebook.name}") for line in shown)
    assert not [line for line in shown if "/notebooks/py/" in line]
    assert not [line for line in shown if "/notebooks/learner/" in line]
