"""Generate the learner copies of the lesson's notebooks.

``python -m cnn_lesson.learner``
    Writes ``notebooks/learner/NN-slug.ipynb`` for every lesson notebook
    ``notebooks/NN-slug.ipynb``. A learner copy has the same cells and prose,
    but every exercise solution (a code cell tagged ``solution``) is replaced
    by an empty code cell holding only :data:`PLACEHOLDER`, all outputs and
    execution counts are cleared, and the tags that only steer the lesson's
    own tooling (``solution``, ``nbval-ignore-output``, ``key-figure``) are
    removed. Copies whose lesson notebook no longer exists are deleted.
    Regenerating a copy overwrites it: learners should work in a copy of
    their own, not in a checkout they regenerate.

``python -m cnn_lesson.learner --check``
    Writes nothing; lists the learner copies that are missing, out of date
    or left over, and exits with status 1 if there are any.

The same lesson notebook always gives a byte-identical learner copy.
"""

import argparse
import sys
from pathlib import Path

import nbformat
from nbconvert.exporters import NotebookExporter
from nbconvert.preprocessors import ClearOutputPreprocessor, Preprocessor
from traitlets import Set, Unicode

from cnn_lesson.paths import PROJECT_ROOT

NOTEBOOKS = PROJECT_ROOT / "notebooks"
LEARNER_DIR = NOTEBOOKS / "learner"
SOLUTION_TAG = "solution"
PLACEHOLDER = "# Your code here: see the exercise above."
# Tags that mean nothing once solutions and outputs are gone. Tags that still
# apply when a copy is run (for example ``raises-exception``) are kept.
LESSON_ONLY_TAGS = frozenset({SOLUTION_TAG, "nbval-ignore-output", "key-figure"})


class SolutionPlaceholderPreprocessor(Preprocessor):
    """Replace the source of every solution cell by a placeholder comment.

    The cell stays a code cell, so that the learner has a place to type.
    """

    tag = Unicode(SOLUTION_TAG, help="the tag that marks a solution cell").tag(
        config=True
    )
    placeholder = Unicode(PLACEHOLDER, help="the source of the new cell").tag(
        config=True
    )

    def preprocess_cell(self, cell, resources, index):
        if self.tag in cell.get("metadata", {}).get("tags", []):
            if cell.cell_type != "code":
                raise ValueError(
                    f"cell {index} is tagged {self.tag!r} but is a {cell.cell_type} "
                    "cell; only code cells can hold solutions"
                )
            cell.source = self.placeholder
        return cell, resources


class StripTagsPreprocessor(Preprocessor):
    """Remove the given tags from every cell (and an empty tag list with them)."""

    tags = Set(set(LESSON_ONLY_TAGS), help="the tags to remove").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        metadata = cell.get("metadata", {})
        if "tags" in metadata:
            kept = [t for t in metadata["tags"] if t not in self.tags]
            if kept:
                metadata["tags"] = kept
            else:
                del metadata["tags"]
        return cell, resources


class LearnerMetadataPreprocessor(Preprocessor):
    """Keep a learner copy out of the lesson's Jupytext pairing.

    ``jupytext.toml`` pairs every notebook under ``notebooks/`` with a script
    under ``notebooks/py/``. A learner copy saved in Jupyter would therefore
    grow a ``notebooks/py/learner/`` script; ``formats = "ipynb"`` in the
    notebook's own metadata takes precedence and turns the pairing off.
    """

    def preprocess(self, nb, resources):
        nb.metadata.setdefault("jupytext", {})["formats"] = "ipynb"
        return nb, resources


def _exporter() -> NotebookExporter:
    exporter = NotebookExporter()
    exporter.register_preprocessor(SolutionPlaceholderPreprocessor, enabled=True)
    exporter.register_preprocessor(ClearOutputPreprocessor, enabled=True)
    exporter.register_preprocessor(StripTagsPreprocessor, enabled=True)
    exporter.register_preprocessor(LearnerMetadataPreprocessor, enabled=True)
    return exporter


def lesson_notebooks(folder: Path = NOTEBOOKS):
    """The numbered notebooks of the lesson, in order."""
    return sorted(folder.glob("[0-9][0-9]-*.ipynb"))


def render(path: Path) -> str:
    """The text of the learner copy of the notebook at ``path``."""
    nb = nbformat.read(path, as_version=4)
    text, _ = _exporter().from_notebook_node(nb)
    return text if text.endswith("\n") else text + "\n"


def _plan(source_dir: Path, learner_dir: Path):
    """Return {learner path: text or None}; None marks a copy to delete."""
    plan = {learner_dir / p.name: render(p) for p in lesson_notebooks(source_dir)}
    for leftover in lesson_notebooks(learner_dir):
        plan.setdefault(leftover, None)
    return plan


def _state(path: Path, text):
    if text is None:
        return "left over (its lesson notebook is gone)"
    if not path.is_file():
        return "missing"
    if path.read_bytes() != text.encode("utf-8"):
        return "out of date"
    return None


def stale_copies(source_dir: Path = NOTEBOOKS, learner_dir: Path = LEARNER_DIR):
    """(path, reason) for every learner copy that is missing or differs."""
    return [
        (path, reason)
        for path, text in sorted(_plan(source_dir, learner_dir).items())
        if (reason := _state(path, text))
    ]


def write_copies(source_dir: Path = NOTEBOOKS, learner_dir: Path = LEARNER_DIR):
    """Bring every learner copy up to date; return (path, what was done)."""
    done = []
    for path, text in sorted(_plan(source_dir, learner_dir).items()):
        reason = _state(path, text)
        if reason is None:
            continue
        if text is None:
            path.unlink()
            done.append((path, "removed, " + reason))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8"))
            done.append((path, "written, was " + reason))
    return done


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if any learner copy is missing or out of date",
    )
    parser.add_argument(
        "--source", type=Path, default=NOTEBOOKS, help=argparse.SUPPRESS
    )
    parser.add_argument("--out", type=Path, default=LEARNER_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.check:
        stale = stale_copies(args.source, args.out)
        for path, reason in stale:
            print(f"{_shown(path)}: {reason}")
        if stale:
            print(
                f"{len(stale)} learner cop{'y is' if len(stale) == 1 else 'ies are'} "
                "stale: run `make learner` (python -m cnn_lesson.learner)."
            )
            return 1
        print("All learner copies are up to date.")
        return 0

    done = write_copies(args.source, args.out)
    for path, what in done:
        print(f"{_shown(path)}: {what}")
    if not done:
        print("All learner copies were already up to date.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
