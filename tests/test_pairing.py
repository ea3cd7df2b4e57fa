"""Every notebook and its script in notebooks/py/ hold the same cells.

The scripts (Jupytext's percent format) are what reviews and diffs read; the
notebooks are what learners run. An edit to one that was not synced to the
other (`make sync`) makes the two tell different lessons.
"""

import jupytext
import pytest

from cnn_lesson.paths import PROJECT_ROOT

NOTEBOOKS = PROJECT_ROOT / "notebooks"
SCRIPTS = NOTEBOOKS / "py"
NOTEBOOK_FILES = sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))
SCRIPT_FILES = sorted(SCRIPTS.glob("[0-9]*.py"))


def _cells(path):
    """(cell type, source, tags) of every cell, as Jupytext reads the file."""
    return [
        (cell.cell_type, cell.source, sorted(cell.metadata.get("tags", [])))
        for cell in jupytext.read(path).cells
    ]


def _first_difference(x, y):
    """The first line where two lists of lines differ ('' past the end)."""
    for i in range(max(len(x), len(y))):
        left = x[i] if i < len(x) else ""
        right = y[i] if i < len(y) else ""
        if left != right:
            return left, right
    return "", ""


def differences(notebook, script):
    """Where the cells of a notebook and of its script differ, in words."""
    a, b = _cells(notebook), _cells(script)
    found = []
    for index, (left, right) in enumerate(zip(a, b)):
        for what, x, y in zip(("cell type", "source", "tags"), left, right):
            if x == y:
                continue
            if what == "source":
                x, y = _first_difference(x.splitlines(), y.splitlines())
            found.append(f"cell {index}: {what} differs ({x!r} vs {y!r})")
    if len(a) != len(b):
        found.append(f"{len(a)} cells in the notebook, {len(b)} in the script")
    return found


def test_the_lesson_has_paired_notebooks():
    assert len(NOTEBOOK_FILES) >= 8, NOTEBOOK_FILES


@pytest.mark.parametrize("notebook", NOTEBOOK_FILES, ids=lambda p: p.stem)
def test_notebook_and_script_hold_the_same_cells(notebook):
    script = SCRIPTS / f"{notebook.stem}.py"
    assert script.is_file(), f"{notebook.name} has no script {script.name}: make sync"
    found = differences(notebook, script)
    assert not found, (
        f"{notebook.name} and py/{script.name} are out of sync (run `make sync` "
        "after deciding which one holds the latest edit): " + "; ".join(found[:5])
    )


@pytest.mark.parametrize("script", SCRIPT_FILES, ids=lambda p: p.stem)
def test_every_script_has_its_notebook(script):
    notebook = NOTEBOOKS / f"{script.stem}.ipynb"
    assert notebook.is_file(), (
        f"py/{script.name} has no notebook {notebook.name}: run "
        f"`jupytext --sync notebooks/py/{script.name}`"
    )


def test_a_changed_source_is_reported(tmp_path):
    notebook = NOTEBOOK_FILES[0]
    script = tmp_path / f"{notebook.stem}.py"
    text = (SCRIPTS / script.name).read_text()
    script.write_text(text.replace("# %%\n", "# %%\n# an edit made in the script\n", 1))
    found = differences(notebook, script)
    assert len(found) == 1 and "source differs" in found[0], found
