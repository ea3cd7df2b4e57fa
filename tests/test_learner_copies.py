"""The learner copies in notebooks/learner/ match the lesson notebooks.

A learner copy is the lesson notebook with every solution replaced by a
placeholder cell and every output cleared (see cnn_lesson.learner). These
tests fail when a lesson notebook changed and `make learner` was not run, or
when a copy would give a solution away or leave an exercise without a place
to type. nbval (in `make test`) runs every copy top to bottom.
"""

import ast
import re
import shutil

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

from cnn_lesson import learner

LESSON_NOTEBOOKS = learner.lesson_notebooks()
EXERCISE_HEADING = re.compile(r"^#+\s+Exercise\b", re.MULTILINE)


def _ids(paths):
    return [p.stem for p in paths]


def _read(path):
    return nbformat.read(path, as_version=4)


def _tags(cell):
    return cell.get("metadata", {}).get("tags", [])


def _is_solution(cell):
    return learner.SOLUTION_TAG in _tags(cell)


def _copy_of(path):
    return learner.LEARNER_DIR / path.name


def test_the_lesson_has_notebooks_with_exercises():
    assert len(LESSON_NOTEBOOKS) >= 7, LESSON_NOTEBOOKS
    solutions = [c for p in LESSON_NOTEBOOKS for c in _read(p).cells if _is_solution(c)]
    assert len(solutions) >= 7


def test_every_learner_copy_is_regenerated_from_its_notebook():
    stale = learner.stale_copies()
    assert not stale, (
        "These learner copies differ from what the lesson notebooks give; run "
        "`make learner` (python -m cnn_lesson.learner): "
        + ", ".join(f"{p.name} ({why})" for p, why in stale)
    )


def test_the_same_notebook_gives_a_byte_identical_copy():
    path = LESSON_NOTEBOOKS[0]
    assert learner.render(path) == learner.render(path)


def test_check_lists_a_copy_whose_notebook_changed(tmp_path, capsys):
    source, out = tmp_path / "notebooks", tmp_path / "learner"
    source.mkdir()
    lesson = shutil.copy(LESSON_NOTEBOOKS[0], source)
    assert learner.main(["--source", str(source), "--out", str(out)]) == 0
    assert learner.main(["--check", "--source", str(source), "--out", str(out)]) == 0

    nb = _read(lesson)
    nb.cells[0].source += "\n\nOne more sentence."
    nbformat.write(nb, lesson)
    capsys.readouterr()
    assert learner.main(["--check", "--source", str(source), "--out", str(out)]) == 1
    assert f"{LESSON_NOTEBOOKS[0].name}: out of date" in capsys.readouterr().out


@pytest.mark.parametrize("path", LESSON_NOTEBOOKS, ids=_ids(LESSON_NOTEBOOKS))
def test_learner_copy_has_no_outputs_and_no_lesson_tags(path):
    for index, cell in enumerate(_read(_copy_of(path)).cells):
        assert not learner.LESSON_ONLY_TAGS & set(_tags(cell)), index
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, index


@pytest.mark.parametrize("path", LESSON_NOTEBOOKS, ids=_ids(LESSON_NOTEBOOKS))
def test_learner_copy_keeps_every_cell_but_the_solutions(path):
    lesson, copy = _read(path), _read(_copy_of(path))
    assert len(copy.cells) == len(lesson.cells)
    for index, (original, cell) in enumerate(zip(lesson.cells, copy.cells)):
        assert cell.cell_type == original.cell_type, index
        expected = learner.PLACEHOLDER if _is_solution(original) else original.source
        assert cell.source == expected, index


@pytest.mark.parametrize("path", LESSON_NOTEBOOKS, ids=_ids(LESSON_NOTEBOOKS))
def test_learner_copy_contains_no_solution_source(path):
    lesson = _read(path)
    elsewhere = {
        line.strip()
        for cell in lesson.cells
        if not _is_solution(cell)
        for line in cell.source.splitlines()
    }
    # Lines that only a solution has: none of them may reach the learner.
    giveaway = {
        line.strip()
        for cell in lesson.cells
        if _is_solution(cell)
        for line in cell.source.splitlines()
        if line.strip() and line.strip() not in elsewhere
    }
    copy_text = "\n".join(cell.source for cell in _read(_copy_of(path)).cells)
    copy_lines = {line.strip() for line in copy_text.splitlines()}
    assert not giveaway & copy_lines, giveaway & copy_lines


@pytest.mark.parametrize("path", LESSON_NOTEBOOKS, ids=_ids(LESSON_NOTEBOOKS))
def test_every_exercise_has_a_placeholder(path):
    cells = _read(_copy_of(path)).cells
    exercises = [
        i
        for i, c in enumerate(cells)
        if c.cell_type == "markdown" and EXERCISE_HEADING.search(c.source)
    ]
    placeholders = [i for i, c in enumerate(cells) if c.source == learner.PLACEHOLDER]
    for i in exercises:
        following = next((c for c in cells[i + 1 :] if c.cell_type == "code"), None)
        assert following is not None, f"exercise in cell {i} has no code cell after it"
        assert following.source == learner.PLACEHOLDER, (
            f"the first code cell after the exercise in cell {i} is not a placeholder"
        )
    assert len(placeholders) == len(exercises), (exercises, placeholders)


def _tree(source):
    # IPython syntax (magics, `!` commands) becomes plain Python first.
    return ast.parse(TransformerManager().transform_cell(source))


def _assigned(source):
    """Names a cell defines: assignments, imports, functions and classes."""
    names = set()
    for node in ast.walk(_tree(source)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {a.asname or a.name.split(".")[0] for a in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
    return names


def _used(source):
    return {
        node.id
        for node in ast.walk(_tree(source))
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }


@pytest.mark.parametrize("path", LESSON_NOTEBOOKS, ids=_ids(LESSON_NOTEBOOKS))
def test_no_cell_needs_a_name_that_only_a_solution_defines(path):
    code_cells = [c for c in _read(path).cells if c.cell_type == "code"]
    defined_outside = set().union(
        *(_assigned(c.source) for c in code_cells if not _is_solution(c))
    )
    only_in_solutions = set()
    problems = []
    for index, cell in enumerate(code_cells):
        if _is_solution(cell):
            only_in_solutions |= _assigned(cell.source) - defined_outside
        else:
            used = _used(cell.source) & only_in_solutions
            if used:
                problems.append(f"code cell {index} uses {sorted(used)}")
    assert not problems, (
        "in the learner copy these names would be undefined: " + "; ".join(problems)
    )
