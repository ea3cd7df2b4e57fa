"""Where the project keeps its data, figures and notebooks."""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """The folder for downloads and caches: ``$CNN_LESSON_DATA_DIR`` or ``data/``."""
    return Path(os.environ.get("CNN_LESSON_DATA_DIR") or PROJECT_ROOT / "data")


def fig_dir() -> Path:
    """The folder that figures are saved to: ``$CNN_LESSON_FIG_DIR`` or ``fig/``."""
    return Path(os.environ.get("CNN_LESSON_FIG_DIR") or PROJECT_ROOT / "fig")
