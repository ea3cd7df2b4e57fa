"""Save the figures that the notebooks show, so that the text can refer to them."""

from pathlib import Path

from cnn_lesson.paths import fig_dir


def save_fig(fig, name: str) -> Path:
    """Write ``fig`` to ``fig/<name>.png`` and return the path.

    The notebooks still show the figure inline; the saved copy is for slides
    and for the lesson's web pages.
    """
    folder = fig_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    # A fixed dpi and no metadata keep the file the same from run to run.
    fig.savefig(path, dpi=100, bbox_inches="tight", metadata={"Software": None})
    return path
