"""Configure the Jupyter kernels of this environment for clean notebook outputs.

TensorFlow writes a few start-up lines straight to the process's standard
error, below Python, before its logging settings take effect. By default
ipykernel forwards such low-level output into the notebook, where it would be
stored (with a timestamp) as part of the first cell's output. This module
writes an IPython kernel configuration into the active environment
(``<sys.prefix>/etc/ipython/``) that leaves low-level output in the terminal
that started Jupyter; everything Python prints still reaches the notebook.

Run ``python -m cnn_lesson.kernel`` once per environment (the Makefile's
set-up does it).
"""

import sys
from pathlib import Path

SETTING = "c.IPKernelApp.capture_fd_output = False"
CONFIG = Path(sys.prefix) / "etc" / "ipython" / "ipython_kernel_config.py"


def is_installed(config: Path = CONFIG) -> bool:
    """Whether the environment's kernel configuration holds the setting."""
    return config.is_file() and SETTING in config.read_text().splitlines()


def install(config: Path = CONFIG) -> Path:
    """Add the setting to the kernel configuration, keeping what is there."""
    if is_installed(config):
        return config
    config.parent.mkdir(parents=True, exist_ok=True)
    existing = config.read_text() if config.is_file() else ""
    if existing and not existing.endswith("\n"):
        existing += "\n"
    config.write_text(
        existing
        + "# Added by cnn_lesson.kernel: keep TensorFlow's low-level start-up\n"
        + "# messages out of notebook outputs.\n"
        + SETTING
        + "\n"
    )
    return config


if __name__ == "__main__":
    print(f"kernel configuration: {install()}")
