"""The stored outputs show what the lesson teaches, and nothing machine-specific.

The expected values come from the lesson's specification (CIFAR-10's shape and
ranges, parameter counts worked out by hand), not from running the notebooks.
"""

import json
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def stored_text(name):
    """All text outputs of a notebook's code cells, joined."""
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if "text" in out:
                parts.append(out["text"])
            parts.append(out.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


EXPECTED = {
    "01-explore": [
        "(5000, 32, 32, 3)",
        "(0, 255)",
        "(5000, 1)",
        "(0, 9)",
        "(0.0, 1.0)",
    ],
    "02-parameters": ["3072", "307,300", "2,700", "Total params: 307,300", "2,800"],
    "03-convolution": [
        "(30, 30)",
        "TensorShape([1, 32, 32, 1])",
        "TensorShape([1, 30, 30, 1])",
    ],
    "04-conv-pooling": ["Total params: 261,034", "Total params: 47,370", "25088"],
    "05-depth-dropout": ["Total params: 36,138", "512", "(None, 4, 4, 32)"],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_stored_outputs_show_the_lesson_values(name):
    text = stored_text(name)
    missing = [value for value in EXPECTED[name] if value not in text]
    assert not missing, f"{name}: stored outputs lack {missing}"


def lesson_notebooks():
    return sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))


@pytest.mark.parametrize("path", lesson_notebooks(), ids=lambda p: p.stem)
def test_stored_outputs_come_from_one_top_to_bottom_run(path):
    nb = nbformat.read(path, as_version=4)
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1)), counts


FORBIDDEN = {
    "ANSI escape code": re.compile(r"\x1b\["),
    "temporary path": re.compile(r"/tmp/|ipykernel_\d+|\\AppData\\Local\\Temp"),
    "memory address": re.compile(r" at 0x[0-9a-f]{6,}"),
    "carriage return (progress bar)": re.compile(r"\r(?!\n)"),
    "object repr instead of a plot": re.compile(r"<(Axes|Figure|matplotlib)[^>]*>"),
    "warning": re.compile(r"Warning:|WARNING"),
    "TensorFlow C++ log line": re.compile(r"^[IWE]\d{4} ", re.MULTILINE),
}


@pytest.mark.parametrize("path", lesson_notebooks(), ids=lambda p: p.stem)
def test_stored_outputs_hold_nothing_machine_specific(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            # A figure's display carries its one-line text form next to the PNG.
            texts = [out.get("text", "")] + [
                v
                for k, v in data.items()
                if k.startswith("text/")
                and not (k == "text/plain" and "image/png" in data)
            ]
            raw = "".join("".join(t) if isinstance(t, list) else t for t in texts)
            for what, pattern in FORBIDDEN.items():
                assert not pattern.search(raw), f"{path.name}: {what} in {raw[:300]!r}"
            assert out.get("name") != "stderr", f"{path.name}: stderr: {raw[:300]!r}"


@pytest.mark.parametrize("path", lesson_notebooks(), ids=lambda p: p.stem)
def test_every_figure_shown_is_saved_to_fig(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code" or "solution" in cell.metadata.get("tags", []):
            continue
        for name in re.findall(r'save_fig\(\w+, "([^"]+)"\)', cell.source):
            assert (ROOT / "fig" / f"{name}.png").is_file(), f"fig/{name}.png missing"
