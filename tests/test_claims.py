"""Every quantitative claim the lesson's prose makes is checked in the notebook.

Claims about exact values (shapes, ranges, parameter counts) are outputs that
nbval compares; claims about trained models are asserted by a cell right after
the output they come from. This table lists the asserting cells per notebook;
the tests fail when a notebook loses one, or when an asserting cell is kept
from running under nbval.
"""

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

# notebook -> {claim in the prose: a line of the cell that asserts it}
CLAIMS = {
    "01-explore": {
        "the 5,000 images are roughly balanced across classes": (
            "assert class_counts.min() > 400 and class_counts.max() < 600"
        ),
    },
    "02-parameters": {
        "a dense layer of 100 units has 307,300 parameters": (
            "assert model.count_params() == dense_parameters == 307_300"
        ),
        "100 kernels of 3x3x3 without bias have 2,700 weights": (
            "assert conv_layer.count_params() == conv_weights == 2_700"
        ),
        "the conv layer has over a hundred times fewer parameters": (
            "assert dense_parameters / conv_weights > 100"
        ),
    },
    "03-convolution": {
        "Keras' Conv2D computes the same as the hand-written convolution": (
            "assert np.allclose(keras_edges[0, :, :, 0], image_edges, atol=1e-5)"
        ),
    },
    "04-conv-pooling": {
        "the dense layer holds most of the parameters": (
            "assert counts[largest] > 0.9 * model.count_params()"
        ),
        "the pooling network has 47,370 parameters": (
            "assert model.count_params() == 47_370"
        ),
        "pooling leaves less than a fifth of the parameters": (
            "assert model.count_params() < two_conv_parameters / 5"
        ),
        "validation accuracy well above chance after 10 epochs": (
            'assert final["val_accuracy"] > 0.40'
        ),
        "training accuracy ends above validation accuracy": (
            'assert final["accuracy"] > final["val_accuracy"]'
        ),
    },
    "05-depth-dropout": {
        "Flatten hands 512 values to the dense layer": "assert flatten_size == 512",
        "the deeper network has fewer parameters (36,138 < 47,370)": (
            "assert model.count_params() == 36_138 < conv_pool_parameters"
        ),
        "the deeper network overfits": "assert depth_gap > 0.05",
        "validation gains less than training in the second ten epochs": (
            'assert second_half["accuracy"] > second_half["val_accuracy"]'
        ),
        "validation loss ends above its lowest point": (
            'assert history_df["val_loss"].iloc[-1] > history_df["val_loss"].min()'
        ),
        "the dropout layer adds no parameters": (
            "assert dropout_layer.count_params() == 0"
        ),
        "the dropout network has the same 36,138 parameters": (
            "assert model_dropout.count_params() == model.count_params() == 36_138"
        ),
        "dropout narrows the train/validation gap": "assert dropout_gap < depth_gap",
        "about half of the test images are right": "assert test_accuracy > 0.45",
        "evaluating on the test set repeats the last validation accuracy": (
            'assert abs(test_accuracy - history_df["val_accuracy"].iloc[-1]) < 1e-6'
        ),
    },
    "06-inspect": {
        "about half of the test images are right": "assert test_accuracy > 0.45",
        "cats and dogs are the most confused pair": (
            'assert set(pairs.index[0]) == {"cat", "dog"}, pairs.head()'
        ),
        "cat is among the hardest classes": (
            'assert "cat" in class_accuracy.nsmallest(3).index'
        ),
        "vehicles are recognised better than animals": (
            "assert class_accuracy[list(vehicles)].mean() > "
            "class_accuracy[list(animals)].mean()"
        ),
        "the common mix-ups stay within animals or within vehicles": (
            "assert all(p <= animals or p <= vehicles for p in top_pairs)"
        ),
        "automobile/truck and airplane/ship are among the common mix-ups": (
            'assert {"automobile", "truck"} in top_pairs and {"airplane", "ship"} in '
            "top_pairs"
        ),
    },
    "07-strategies": {
        "more dropout, smaller gap": "assert gaps[0.5] < gaps[0.0], gaps",
        "more dropout, lower training accuracy": (
            'assert results_df["accuracy"][0.5] < results_df["accuracy"][0.0]'
        ),
        "at 10 epochs validation accuracy barely moves with the rate": (
            'assert (results_df["val_accuracy"] - results_df["val_accuracy"][0.0])'
            ".abs().max() < 0.05"
        ),
        "10,000 images raise validation accuracy by several points": (
            "assert gain > 0.03, gain"
        ),
        "more data gains more than any dropout rate": (
            "assert gain > spread, (gain, spread)"
        ),
    },
}


def lesson_notebooks():
    return sorted(
        p for p in NOTEBOOKS.glob("[0-9][0-9]-*.ipynb") if p.stem != "00-setup-check"
    )


def code_cells(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    return [c for c in nb.cells if c.cell_type == "code"]


def test_every_lesson_notebook_has_its_claims_listed():
    names = {p.stem for p in lesson_notebooks()}
    assert names == set(CLAIMS), "update CLAIMS when adding or removing a notebook"


@pytest.mark.parametrize(
    "name,claim,line",
    [(n, c, line) for n, claims in CLAIMS.items() for c, line in claims.items()],
)
def test_claim_is_asserted_in_the_notebook(name, claim, line):
    cells = [
        c
        for c in code_cells(name)
        if line in [x.strip() for x in c.source.replace("\n)", ")").splitlines()]
        or line in " ".join(c.source.split())
    ]
    assert cells, f"{name}: no cell asserts that {claim} ({line!r})"
    for cell in cells:
        tags = cell.metadata.get("tags", [])
        assert "solution" not in tags, f"{name}: the check of '{claim}' is a solution"
        assert not {"nbval-skip", "raises-exception"} & set(tags), (
            f"{name}: the check of '{claim}' would not run under nbval"
        )


@pytest.mark.parametrize("path", lesson_notebooks(), ids=lambda p: p.stem)
def test_stored_outputs_hold_no_failed_assertion(path):
    nb = nbformat.read(path, as_version=4)
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors, (
        f"{path.name}: stored outputs hold an error: {errors[0]['ename']}"
    )
