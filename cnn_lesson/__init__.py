"""Helpers for the CNN lesson: what the lesson uses but does not teach.

- :mod:`cnn_lesson.data` fetches, verifies and caches CIFAR-10;
- :mod:`cnn_lesson.figures` saves the figures a notebook shows to ``fig/``;
- :mod:`cnn_lesson.run` executes the notebooks (lesson run, stored outputs).
"""

from cnn_lesson.data import CLASS_NAMES, CIFAR10Error, CIFAR10Interrupted, load_cifar10
from cnn_lesson.figures import save_fig

__all__ = [
    "CLASS_NAMES",
    "CIFAR10Error",
    "CIFAR10Interrupted",
    "load_cifar10",
    "save_fig",
]
