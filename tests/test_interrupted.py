"""A notebook whose kernel dies half-way can be re-run from the top, no clean-up.

The test starts notebook 4 with an empty data folder (so its first cell imports
the archive into a new cache), kills the kernel outright while the model is
training, then runs the whole notebook again in a fresh kernel.
"""

import os
import signal
import subprocess
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from cnn_lesson.run import execute

NOTEBOOK = (
    Path(__file__).resolve().parent.parent / "notebooks" / "04-conv-pooling.ipynb"
)


def kernel_pid(client):
    provisioner = client.km.provisioner
    return getattr(provisioner, "pid", None) or provisioner.process.pid


def test_notebook_killed_during_training_runs_again_from_the_top(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_LESSON_DATA_DIR", str(tmp_path / "data"))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    fit = next(i for i, c in enumerate(nb.cells) if "model.fit(" in c.source)
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    try:
        with client.setup_kernel(stderr=subprocess.DEVNULL):
            for index, cell in enumerate(nb.cells[:fit]):
                client.execute_cell(cell, index)
            client.kc.execute(nb.cells[fit].source)  # start training, do not wait
            time.sleep(8)
            pid = kernel_pid(client)
            os.kill(pid, signal.SIGKILL)
            time.sleep(1)
            assert not client.km.is_alive()
    except Exception:  # the client may complain about its dead kernel
        if client.km is not None and client.km.is_alive():
            raise
    assert (tmp_path / "data" / "cache" / "cifar10.npz").is_file()

    result = execute(NOTEBOOK, tmp_path / "rerun.ipynb")

    rerun = nbformat.read(tmp_path / "rerun.ipynb", as_version=4)
    code = [c for c in rerun.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "not every cell ran"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    assert "validation accuracy after 10 epochs" in "".join(
        o.get("text", "") for c in code for o in c.outputs
    )
    assert result["seconds"] > 0
