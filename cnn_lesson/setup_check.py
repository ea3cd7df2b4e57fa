"""Check that this computer is ready for the lesson.

``python -m cnn_lesson.setup_check`` (or ``make check-setup``, or the notebook
``notebooks/00-setup-check.ipynb``) prints one line per check, starting with
OK or FAIL; a FAIL line says what to do about it. The checks:

- the Python version, against the project's ``requires-python``;
- every package pinned in ``requirements.txt``, against the installed version
  (lines whose environment marker does not apply here are skipped);
- the lesson's helper package ``cnn_lesson``, installed from this folder;
- CIFAR-10: already in the project's cache, ready to import from a local
  archive, or else to be downloaded by the first notebook (nothing is
  downloaded here);
- Keras runs on TensorFlow, and whether TensorFlow sees a GPU (none is fine);
- a short timing run of the lesson's dropout network on random data, which
  predicts how long the lesson's longest training cell takes on this computer.

The check installs nothing, opens no network connection and writes no file.
It takes well under a minute. The exit status is 1 if any check failed.
"""

import importlib.metadata
import json
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet

from cnn_lesson import data
from cnn_lesson.paths import PROJECT_ROOT
from cnn_lesson.paths import data_dir as default_data_dir

REQUIREMENTS = PROJECT_ROOT / "requirements.txt"
PROJECT = "cnn-lesson"
INSTALL_HINT = (
    "run `python -m pip install -r requirements.txt` in the project folder "
    "(conda: `conda env update -f environment.yml`)"
)

# The lesson's longest training cell: notebook 05 trains the dropout network
# for 20 epochs on 5,000 images in batches of 32 (157 steps an epoch), and
# validates on the 10,000 test images in batches of 1,000 after every epoch.
LONGEST_CELL = "notebook 05, dropout network, 20 epochs"
EPOCHS = 20
TRAIN_IMAGES = 5000
BATCH_SIZE = 32
VALIDATION_IMAGES = 10_000
VALIDATION_BATCH_SIZE = 1000
# The lesson compiles its networks with steps_per_execution=64.
STEPS_PER_EXECUTION = 64


@dataclass(frozen=True)
class Check:
    """The result of one check: whether it passed, and what it found."""

    ok: bool
    name: str
    message: str

    def line(self) -> str:
        return f"{'OK' if self.ok else 'FAIL':<4}  {self.name}: {self.message}"


# --------------------------------------------------------------------------
# Python and packages


def check_python(version_info=None, requires: str | None = None) -> Check:
    """Whether this Python satisfies the project's ``requires-python``."""
    version_info = version_info or sys.version_info
    version = ".".join(str(v) for v in tuple(version_info)[:3])
    if requires is None:
        try:
            requires = _project_distribution().metadata["Requires-Python"] or ""
        except importlib.metadata.PackageNotFoundError:
            requires = ""
    if requires and version not in SpecifierSet(requires):
        return Check(
            False,
            "Python",
            f"{version}, but the lesson needs Python {requires}: create the "
            "environment with a newer Python (environment.yml installs 3.11)",
        )
    return Check(
        True, "Python", f"{version}" + (f" (needs {requires})" if requires else "")
    )


def check_requirement(line: str, version_of=importlib.metadata.version):
    """Compare one line of requirements.txt with what is installed.

    Returns a :class:`Check`, or None for a line that is not a package
    requirement (blank, comment, pip option) or whose environment marker
    excludes this computer (``; sys_platform == "darwin"`` on Linux).
    ``version_of`` maps a distribution name to its installed version.
    """
    text = line.split(" #", 1)[0].strip()
    if not text or text.startswith(("#", "-")):
        return None
    try:
        requirement = Requirement(text)
    except InvalidRequirement as err:
        return Check(
            False, text, f"requirements.txt has a line pip cannot read ({err})"
        )
    if requirement.marker is not None and not requirement.marker.evaluate():
        return None
    name = requirement.name
    wanted = str(requirement.specifier) or "any version"
    try:
        installed = version_of(name)
    except importlib.metadata.PackageNotFoundError:
        return Check(
            False, name, f"not installed (the lesson needs {wanted}): {INSTALL_HINT}"
        )
    if requirement.specifier.contains(installed, prereleases=True):
        return Check(True, name, installed)
    return Check(
        False,
        name,
        f"{installed} is installed, the lesson needs {wanted}: {INSTALL_HINT}",
    )


def check_packages(
    requirements: Path = REQUIREMENTS, version_of=importlib.metadata.version
):
    """One :class:`Check` per pinned package that applies to this computer."""
    try:
        lines = Path(requirements).read_text().splitlines()
    except OSError as err:
        return [
            Check(False, "requirements.txt", f"cannot be read ({err.strerror or err})")
        ]
    checks = (check_requirement(line, version_of) for line in lines)
    return [c for c in checks if c is not None]


def _project_distribution():
    """The installed distribution of this project, as a notebook would find it.

    A process started in the project folder also sees the folder's own
    ``*.egg-info``; a notebook's kernel, started in ``notebooks/``, does not.
    So the current folder and the project folder are left out of the search.
    """
    here = {Path.cwd().resolve(), PROJECT_ROOT.resolve()}
    path = [p for p in sys.path if p and Path(p).resolve() not in here]
    for dist in importlib.metadata.distributions(name=PROJECT, path=path):
        return dist
    raise importlib.metadata.PackageNotFoundError(PROJECT)


def check_project() -> Check:
    """Whether the helper package is installed from this folder, editable."""
    fix = "run `python -m pip install --no-deps -e .` in the project folder"
    try:
        dist = _project_distribution()
    except importlib.metadata.PackageNotFoundError:
        return Check(
            False, "cnn_lesson", f"the lesson's helper package is not installed: {fix}"
        )
    try:
        origin = json.loads(dist.read_text("direct_url.json") or "{}")
    except ValueError:
        origin = {}
    url = origin.get("url", "")
    if url and url.rstrip("/") != PROJECT_ROOT.resolve().as_uri():
        return Check(
            False, "cnn_lesson", f"installed from {url}, not from this folder: {fix}"
        )
    if not origin.get("dir_info", {}).get("editable"):
        return Check(
            True,
            "cnn_lesson",
            f"{dist.version}, installed as a copy: changes to cnn_lesson/ take "
            f"effect only after reinstalling ({fix})",
        )
    return Check(True, "cnn_lesson", f"{dist.version}, installed from this folder")


# --------------------------------------------------------------------------
# CIFAR-10


def shown(path) -> str:
    """A path as a message shows it: relative to the project, or to ``~``."""
    path = Path(path).expanduser().absolute()
    for base, prefix in ((PROJECT_ROOT, ""), (Path.home(), "~/")):
        try:
            return prefix + path.relative_to(base).as_posix()
        except ValueError:
            continue
    return str(path)


def _archive_check(path: Path, accept: set, note: str = "", named: str = "") -> Check:
    where = f"the archive {shown(path)}{named}"
    digest = data.sha256_of(path)
    if digest == data.OFFICIAL_SHA256:
        return Check(True, "CIFAR-10", f"the first notebook imports {where}{note}")
    if digest in accept:
        return Check(
            True,
            "CIFAR-10",
            f"the first notebook imports {where} (not the official archive, "
            f"accepted through {data.ENV_ACCEPT}){note}",
        )
    return Check(
        False,
        "CIFAR-10",
        f"{where} is not the official archive (SHA-256 {digest}), so the lesson "
        "would refuse it: replace it with a complete download of "
        f"{data.OFFICIAL_URL}, or, if you trust this file, set "
        f"{data.ENV_ACCEPT}={digest}",
    )


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_data(data_dir=None) -> Check:
    """Where the lesson will find CIFAR-10, without loading or downloading it.

    Follows the order of :func:`cnn_lesson.data.load_cifar10`, and reads the
    same environment variables: an archive named by ``CIFAR10_ARCHIVE`` must
    exist; then the project's cache is used if it is sound and comes from a
    trusted archive; then a local archive; otherwise the first notebook
    downloads the official one. Reads files only; creates none.
    """
    folder = Path(data_dir).expanduser() if data_dir else default_data_dir()
    try:
        accept = data._accepted(None)
    except data.CIFAR10Error as err:
        return Check(False, "CIFAR-10", str(err))
    trusted = {data.OFFICIAL_SHA256} | accept
    explicit = os.environ.get(data.ENV_ARCHIVE)
    explicit = Path(explicit).expanduser() if explicit else None
    if explicit is not None and not explicit.is_file():
        return Check(
            False,
            "CIFAR-10",
            f"{data.ENV_ARCHIVE} names {shown(explicit)}, which is not a file: "
            f"fix the path, or unset {data.ENV_ARCHIVE} to use the data/ folder",
        )

    cache = folder / "cache" / data.CACHE_NAME
    note = ""
    try:
        cached = data._read_cache(cache)
    except data._CacheProblem as problem:
        cached = None
        note = f" (the cache {shown(cache)} is not used: {problem})"
    if cached is not None:
        meta = cached[1]
        if meta["sha256"] not in trusted:
            note = (
                f" (the cache {shown(cache)} is not used: it was built from an "
                f"archive that is not the official one; to use it, set "
                f"{data.ENV_ACCEPT}={meta['sha256']})"
            )
        elif (
            explicit is None
            or meta.get("source") == data._stat_key(explicit)
            or meta["sha256"] == data.sha256_of(explicit)
        ):
            return Check(True, "CIFAR-10", f"in the project's cache {shown(cache)}")

    if explicit is not None:
        return _archive_check(
            explicit, accept, note, named=f" (named by {data.ENV_ARCHIVE})"
        )
    for path in data._local_candidates(folder):
        if path.is_file():
            return _archive_check(path, accept, note)

    url = os.environ.get(data.ENV_URL) or data.OFFICIAL_URL
    target = folder / "downloads"
    writable = _nearest_existing(target)
    if not os.access(writable, os.W_OK):
        return Check(
            False,
            "CIFAR-10",
            f"not on this computer, and it cannot be downloaded to {shown(target)} "
            f"because {shown(writable)} is not writable: set CNN_LESSON_DATA_DIR "
            f"to a folder you can write to. {data.HOW_TO_IMPORT}",
        )
    return Check(
        True,
        "CIFAR-10",
        ("" if note else "not on this computer yet: ")
        + f"the first notebook downloads it ({data.DOWNLOAD_MB} MB) from {url} "
        f"to {shown(target)}{note}. "
        f"No network at the workshop? {data.HOW_TO_IMPORT}",
    )


# --------------------------------------------------------------------------
# Keras, TensorFlow and speed


def _keras_home() -> Path:
    # Where Keras looks for keras.json (keras/src/backend/config.py).
    if "KERAS_HOME" in os.environ:
        return Path(os.environ["KERAS_HOME"])
    home = Path("~").expanduser()
    return (home if os.access(home, os.W_OK) else Path("/tmp")) / ".keras"


def import_keras():
    """Import Keras with quiet TensorFlow logging, writing no file on the way.

    Two things may write files when Keras is first imported on a computer:

    - Keras writes a default ``keras.json`` where it finds none. In that case
      Keras is pointed at a folder that cannot be created (below this source
      file), so the write fails harmlessly and Keras uses its defaults, the
      same that the lesson will get.
    - Keras imports matplotlib (for an image-gallery helper) if it can, and
      matplotlib builds its font cache on its first import. Matplotlib is
      hidden while Keras is imported, as if it were not installed; Keras then
      leaves that helper out (the check does not use it), and matplotlib can
      still be imported normally afterwards.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "keras" in sys.modules:
        return sys.modules["keras"]
    saved_env = {"KERAS_HOME": os.environ.get("KERAS_HOME")}
    if not (_keras_home() / "keras.json").is_file():
        os.environ["KERAS_HOME"] = str(Path(__file__).resolve() / "no-keras-home")
    hidden = [m for m in ("matplotlib", "matplotlib.pyplot") if m not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # "import matplotlib" now raises ImportError
    try:
        import keras
    finally:
        for name in hidden:
            del sys.modules[name]
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return keras


def check_backend() -> Check:
    """Whether Keras imports and runs on TensorFlow, as the lesson expects."""
    try:
        keras = import_keras()
    except (ImportError, ValueError, OSError) as err:  # or a broken keras.json
        return Check(False, "Keras", f"cannot be imported ({err}): {INSTALL_HINT}")
    backend = keras.backend.backend()
    if backend != "tensorflow":
        return Check(
            False,
            "Keras",
            f"uses the {backend} backend, the lesson needs tensorflow: set the "
            "environment variable KERAS_BACKEND=tensorflow, or change "
            f'"backend" in {shown(_keras_home() / "keras.json")}',
        )
    return Check(True, "Keras", f"{keras.__version__} on TensorFlow")


def check_gpu() -> Check:
    """Whether TensorFlow sees a GPU; the lesson does not need one."""
    try:
        import_keras()
        import tensorflow as tf
    except (ImportError, ValueError, OSError) as err:
        return Check(
            False, "GPU", f"TensorFlow cannot be imported ({err}): {INSTALL_HINT}"
        )
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return Check(
            True,
            "GPU",
            "none found; TensorFlow uses the CPU, which is all the lesson needs",
        )
    names = ", ".join(g.name for g in gpus)
    return Check(True, "GPU", f"{len(gpus)} found ({names}); TensorFlow will use it")


def dropout_network(keras):
    """The network of notebook 05 with dropout, compiled as the lesson does."""
    inputs = keras.Input(shape=(32, 32, 3))
    x = keras.layers.Conv2D(32, (3, 3), activation="relu")(inputs)
    x = keras.layers.MaxPooling2D((2, 2))(x)
    x = keras.layers.Conv2D(32, (3, 3), activation="relu")(x)
    x = keras.layers.MaxPooling2D((2, 2))(x)
    x = keras.layers.Conv2D(32, (3, 3), activation="relu")(x)
    x = keras.layers.Dropout(0.2)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(32, activation="relu")(x)
    outputs = keras.layers.Dense(10)(x)
    model = keras.Model(inputs=inputs, outputs=outputs, name="conv_dropout")
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        steps_per_execution=STEPS_PER_EXECUTION,
    )
    return model


@dataclass(frozen=True)
class Timing:
    """Measured speed, and the predicted time of the longest training cell."""

    step_s: float  # one training step of 32 images
    validation_batch_s: float  # one validation batch of 1,000 images
    epoch_overhead_s: float  # per epoch, besides the steps and batches
    first_epoch_extra_s: float  # building TensorFlow's graphs, once
    epoch_s: float  # one epoch of the longest training cell
    predicted_s: float  # the whole cell
    measured_s: float  # how long this timing run took


class _Clock:
    """Times of the events of a ``fit`` call, taken by a Keras callback."""

    def __init__(self, keras, budget_s: float, start: float):
        clock = self

        class Callback(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                clock.epochs.append([time.perf_counter(), None])
                clock.executions.append([])
                clock.validations.append([None, None])

            def on_train_batch_end(self, batch, logs=None):
                # Called once per execution of STEPS_PER_EXECUTION steps.
                clock.executions[-1].append(time.perf_counter())

            def on_test_begin(self, logs=None):
                clock.validations[-1][0] = time.perf_counter()

            def on_test_end(self, logs=None):
                clock.validations[-1][1] = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                clock.epochs[-1][1] = time.perf_counter()
                if epoch >= 1 and time.perf_counter() - start > budget_s:
                    self.model.stop_training = True

        self.callback = Callback()
        self.epochs, self.executions, self.validations = [], [], []


def time_training(
    executions: int = 2,
    validation_batches: int = 3,
    epochs: int = 3,
    budget_s: float = 20.0,
) -> Timing:
    """Time a short training run of the dropout network; predict the longest cell.

    The data are random pixels of the lesson's shapes and types: the speed of
    a network does not depend on what the pixels show. One ``fit`` call trains
    ``epochs`` short epochs, each of ``executions`` times 64 steps of 32
    images and a validation pass over ``validation_batches`` batches of 1,000.
    The first epoch is the warm-up: it also builds TensorFlow's graphs, as the
    first epoch of the real cell does. From the later epochs, a callback takes
    the median time of a training step (from the time between two executions
    of 64 steps), of a validation batch and of the rest of an epoch. Once
    ``budget_s`` seconds have passed, training stops after the current epoch
    (but not before one epoch after the warm-up), so that a slow computer is
    not kept waiting long.
    """
    if executions < 2 or epochs < 2 or validation_batches < 1:
        raise ValueError(
            "the timing needs two executions per epoch, a validation batch and "
            "one epoch after the warm-up"
        )
    import numpy as np

    keras = import_keras()
    start = time.perf_counter()
    steps = executions * STEPS_PER_EXECUTION
    rng = np.random.default_rng(0)
    n_train, n_val = steps * BATCH_SIZE, validation_batches * VALIDATION_BATCH_SIZE
    images = rng.random((n_train, 32, 32, 3), dtype=np.float32)
    labels = rng.integers(0, 10, size=(n_train, 1)).astype(np.uint8)
    val_images = rng.random((n_val, 32, 32, 3), dtype=np.float32)
    val_labels = rng.integers(0, 10, size=(n_val, 1)).astype(np.uint8)
    model = dropout_network(keras)
    clock = _Clock(keras, budget_s, start)
    model.fit(
        images,
        labels,
        batch_size=BATCH_SIZE,
        epochs=epochs,
        shuffle=False,
        validation_data=(val_images, val_labels),
        validation_batch_size=VALIDATION_BATCH_SIZE,
        callbacks=[clock.callback],
        verbose=0,
    )

    later = range(1, len(clock.epochs))
    # The first execution of an epoch also pays for starting the epoch.
    step = statistics.median(
        t / STEPS_PER_EXECUTION
        for e in later
        for t in (b - a for a, b in pairwise(clock.executions[e]))
    )
    validation = [end - begin for begin, end in clock.validations]
    batch = statistics.median(validation[e] for e in later) / validation_batches
    durations = [end - begin for begin, end in clock.epochs]
    overhead = statistics.median(
        max(0.0, durations[e] - steps * step - validation[e]) for e in later
    )
    extra = max(0.0, durations[0] - statistics.median(durations[e] for e in later))
    epoch = (
        math.ceil(TRAIN_IMAGES / BATCH_SIZE) * step
        + math.ceil(VALIDATION_IMAGES / VALIDATION_BATCH_SIZE) * batch
        + overhead
    )
    return Timing(
        step_s=step,
        validation_batch_s=batch,
        epoch_overhead_s=overhead,
        first_epoch_extra_s=extra,
        epoch_s=epoch,
        predicted_s=EPOCHS * epoch + extra,
        measured_s=time.perf_counter() - start,
    )


def check_speed(**kwargs) -> Check:
    """Predict the time of the longest training cell from a short timing run."""
    try:
        timing = time_training(**kwargs)
    # Whatever breaks a short training run would break the lesson's too: report
    # it as a FAIL line with its message rather than end the check with a traceback.
    except Exception as err:  # noqa: BLE001
        return Check(
            False, "speed", f"the timing run failed ({type(err).__name__}: {err})"
        )
    predicted = timing.predicted_s
    message = (
        f"{timing.step_s * 1000:.0f} ms per training step of {BATCH_SIZE} images, "
        f"{timing.epoch_s:.1f} s per epoch; the longest training cell ({LONGEST_CELL}) "
        f"should take about {predicted:.0f} s here"
    )
    if predicted > 15 * 60:
        message += (
            ". That is long for a workshop: close other programs, plug in the "
            "power, or ask the instructors about a faster computer"
        )
    return Check(True, "speed", message)


# --------------------------------------------------------------------------
# All checks


def run_checks(print_fn=print):
    """Run every check, printing each line as soon as it is known."""
    results = []

    def report(check):
        results.append(check)
        print_fn(check.line())

    report(check_python())
    for check in check_packages():
        report(check)
    report(check_project())
    report(check_data())
    report(check_backend())
    report(check_gpu())
    report(check_speed())
    return results


def failures(checks):
    """The checks that failed."""
    return [c for c in checks if not c.ok]


def main() -> int:
    print(
        "Checking this computer for the lesson. Start-up messages that "
        "TensorFlow prints on the way are harmless."
    )
    start = time.perf_counter()
    checks = run_checks()
    failed = failures(checks)
    seconds = time.perf_counter() - start
    if failed:
        print(f"\n{len(failed)} of {len(checks)} checks failed ({seconds:.0f} s).")
        print("Each FAIL line above says what to do; then run the check again.")
        return 1
    print(f"\nAll {len(checks)} checks passed ({seconds:.0f} s): ready for the lesson.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
