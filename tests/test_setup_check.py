"""The setup check reports what is wrong, and changes nothing while it looks.

Data states are checked against a temporary CNN_LESSON_DATA_DIR (and a
temporary home folder, where Keras may keep a copy of the archive); the full
check runs once, as a learner runs it, in a separate process.
"""

import gzip
import importlib.metadata
import inspect
import io
import os
import pickle
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
from packaging.requirements import Requirement

from cnn_lesson import data, setup_check
from cnn_lesson.paths import PROJECT_ROOT

NUMPY = importlib.metadata.version("numpy")
NOTEBOOKS = PROJECT_ROOT / "notebooks"


# --------------------------------------------------------------------------
# Versions


def test_a_pin_that_differs_from_the_installed_version_fails():
    check = setup_check.check_requirement("numpy==0.0.1")
    assert not check.ok
    assert check.line().startswith("FAIL  numpy:")
    assert f"{NUMPY} is installed, the lesson needs ==0.0.1" in check.message
    assert "pip install -r requirements.txt" in check.message


def test_a_pin_that_matches_the_installed_version_passes():
    check = setup_check.check_requirement(f"numpy=={NUMPY}  # a comment")
    assert check.ok
    assert check.line() == f"OK    numpy: {NUMPY}"


def test_a_pinned_package_that_is_not_installed_fails():
    check = setup_check.check_requirement("no-such-package-for-this-lesson==1.0")
    assert not check.ok
    assert "not installed" in check.message


def test_lines_that_are_no_requirement_for_this_computer_are_skipped():
    skipped = [
        "",
        "# a comment",
        "-e .",
        "--index-url https://example.invalid/simple",
        'numpy==0.0.1; sys_platform == "no-such-platform"',
    ]
    assert [setup_check.check_requirement(line) for line in skipped] == [None] * 5


def test_an_environment_marker_that_applies_is_checked():
    check = setup_check.check_requirement(f'numpy=={NUMPY}; python_version >= "3"')
    assert check is not None and check.ok


def test_every_pin_in_requirements_txt_that_applies_here_is_checked():
    applies = []
    for line in setup_check.REQUIREMENTS.read_text().splitlines():
        line = line.split(" #")[0].strip()
        if line and not line.startswith(("#", "-")):
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate():
                applies.append(requirement.name)
    checks = setup_check.check_packages()
    assert [c.name for c in checks] == applies
    assert "keras" in applies and len(applies) >= 20


def test_a_fake_installed_version_makes_its_pin_fail(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"numpy=={NUMPY}\nkeras==3.15.1\n")

    def version_of(name):
        return "1.0" if name == "keras" else importlib.metadata.version(name)

    checks = setup_check.check_packages(requirements, version_of)
    assert [(c.name, c.ok) for c in checks] == [("numpy", True), ("keras", False)]
    assert setup_check.failures(checks) == [checks[1]]


def test_a_python_older_than_required_fails():
    old = setup_check.check_python((3, 9, 18), ">=3.10")
    assert not old.ok and "needs Python >=3.10" in old.message
    assert setup_check.check_python((3, 11, 7), ">=3.10").ok


def test_the_python_requirement_comes_from_the_project():
    check = setup_check.check_python()
    assert check.ok and "(needs >=3.11)" in check.message


# --------------------------------------------------------------------------
# CIFAR-10, one state at a time


def _tiny_archive(path: Path, n: int = 4):
    """A CIFAR-10 archive in the official layout with n images per batch."""
    rng = np.random.default_rng(0)

    def batch():
        return {
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"labels": [int(x) for x in rng.integers(0, 10, n)],
        }

    members = {f"data_batch_{i}": batch() for i in range(1, 6)}
    members["test_batch"] = batch()
    members["batches.meta"] = {b"label_names": [c.encode() for c in data.CLASS_NAMES]}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, content in members.items():
            blob = pickle.dumps(content, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    # mtime=0: the same bytes, and so the same SHA-256, every time.
    path.write_bytes(gzip.compress(buffer.getvalue(), mtime=0))
    return data.sha256_of(path)


def _listing(folder: Path):
    """Every file and folder below folder, with size and modification time."""
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): (p.is_dir(), p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
    }


@pytest.fixture
def folders(tmp_path, monkeypatch):
    """An empty data folder and home folder; no CIFAR-10 variables set."""
    data_dir, home = tmp_path / "data", tmp_path / "home"
    data_dir.mkdir()
    home.mkdir()
    monkeypatch.setenv("CNN_LESSON_DATA_DIR", str(data_dir))
    monkeypatch.setenv("HOME", str(home))
    for name in (data.ENV_ARCHIVE, data.ENV_ACCEPT, data.ENV_URL):
        monkeypatch.delenv(name, raising=False)
    return data_dir, home


def _check_data_changing_nothing(*folders):
    before = [_listing(f) for f in folders]
    check = setup_check.check_data()
    assert [_listing(f) for f in folders] == before, "the data check wrote files"
    return check


def test_missing_data_is_reported_as_a_download_and_not_fetched(folders):
    data_dir, _ = folders
    check = _check_data_changing_nothing(*folders)
    assert check.ok
    assert "not on this computer yet" in check.message
    assert f"({data.DOWNLOAD_MB} MB) from {data.OFFICIAL_URL}" in check.message
    assert str(data_dir / "downloads") in check.message
    assert not (data_dir / "downloads").exists()


def test_the_download_address_follows_cifar10_url(folders, monkeypatch):
    monkeypatch.setenv(data.ENV_URL, "http://127.0.0.1:9/mirror/cifar-10.tar.gz")
    check = _check_data_changing_nothing(*folders)
    assert "from http://127.0.0.1:9/mirror/cifar-10.tar.gz" in check.message


def test_an_archive_that_is_not_the_official_one_fails_until_accepted(
    folders, monkeypatch
):
    data_dir, _ = folders
    digest = _tiny_archive(data_dir / data.ARCHIVE_NAME)
    refused = _check_data_changing_nothing(*folders)
    assert not refused.ok
    assert f"{data.ENV_ACCEPT}={digest}" in refused.message

    monkeypatch.setenv(data.ENV_ACCEPT, digest)
    accepted = _check_data_changing_nothing(*folders)
    assert accepted.ok
    assert "the first notebook imports the archive" in accepted.message
    assert data.ARCHIVE_NAME in accepted.message


def test_an_archive_that_keras_left_in_the_home_folder_is_found(folders, monkeypatch):
    _, home = folders
    keras_copy = home / ".keras" / "datasets" / data.KERAS_ARCHIVE_NAMES[0]
    keras_copy.parent.mkdir(parents=True)
    monkeypatch.setenv(data.ENV_ACCEPT, _tiny_archive(keras_copy))
    check = _check_data_changing_nothing(*folders)
    assert check.ok and data.KERAS_ARCHIVE_NAMES[0] in check.message


def test_cifar10_archive_naming_a_missing_file_fails(folders, monkeypatch, tmp_path):
    monkeypatch.setenv(data.ENV_ARCHIVE, str(tmp_path / "nowhere.tar.gz"))
    check = _check_data_changing_nothing(*folders)
    assert not check.ok
    assert "nowhere.tar.gz, which is not a file" in check.message


def test_cifar10_archive_naming_an_accepted_archive_passes(
    folders, monkeypatch, tmp_path
):
    archive = tmp_path / "elsewhere.tar.gz"
    monkeypatch.setenv(data.ENV_ACCEPT, _tiny_archive(archive))
    monkeypatch.setenv(data.ENV_ARCHIVE, str(archive))
    check = _check_data_changing_nothing(*folders)
    assert check.ok
    assert f"elsewhere.tar.gz (named by {data.ENV_ARCHIVE})" in check.message


def test_a_malformed_accepted_checksum_fails(folders, monkeypatch):
    monkeypatch.setenv(data.ENV_ACCEPT, "not-a-checksum")
    check = _check_data_changing_nothing(*folders)
    assert not check.ok and data.ENV_ACCEPT in check.message


def test_a_cached_data_set_is_found(folders, monkeypatch, tmp_path):
    data_dir, _ = folders
    archive = tmp_path / "tiny.tar.gz"
    digest = _tiny_archive(archive)
    data.load_cifar10(archive, accept_sha256=digest, verbose=False)
    cache = data_dir / "cache" / data.CACHE_NAME
    assert cache.is_file()

    monkeypatch.setenv(data.ENV_ACCEPT, digest)
    check = _check_data_changing_nothing(*folders)
    assert check.ok
    assert check.message == f"in the project's cache {cache}"

    # Without the opt-in, the loader would not use this cache either.
    monkeypatch.delenv(data.ENV_ACCEPT)
    untrusted = _check_data_changing_nothing(*folders)
    assert "not used" in untrusted.message
    assert f"{data.ENV_ACCEPT}={digest}" in untrusted.message
    assert "downloads it" in untrusted.message


def test_a_damaged_cache_is_reported_and_left_alone(folders):
    data_dir, _ = folders
    cache = data_dir / "cache" / data.CACHE_NAME
    cache.parent.mkdir()
    cache.write_bytes(b"not a zip file")
    check = _check_data_changing_nothing(*folders)
    assert check.ok and "is not used" in check.message
    assert cache.read_bytes() == b"not a zip file"


# --------------------------------------------------------------------------
# The speed prediction


def test_the_prediction_adds_up_the_longest_training_cell():
    timing = setup_check.time_training(executions=2, validation_batches=1, epochs=2)
    assert timing.step_s > 0 and timing.validation_batch_s > 0
    # 157 steps of 32 images and 10 validation batches of 1,000, 20 times.
    epoch = 157 * timing.step_s + 10 * timing.validation_batch_s
    assert timing.epoch_s == pytest.approx(epoch + timing.epoch_overhead_s)
    assert timing.predicted_s == pytest.approx(
        20 * timing.epoch_s + timing.first_epoch_extra_s
    )


def _cells_of(notebook, *snippets):
    """The code cells of a lesson notebook that contain every snippet."""
    nb = nbformat.read(NOTEBOOKS / f"{notebook}.ipynb", as_version=4)
    return [
        cell.source
        for cell in nb.cells
        if cell.cell_type == "code" and all(s in cell.source for s in snippets)
    ]


def test_the_timing_run_trains_as_the_longest_training_cell_does():
    (fit,) = _cells_of("05-depth-dropout", "model_dropout.fit(")
    for setting in (
        f"epochs={setup_check.EPOCHS}",
        f"validation_batch_size={setup_check.VALIDATION_BATCH_SIZE}",
        f"steps_per_execution={setup_check.STEPS_PER_EXECUTION}",
        "validation_data=(test_images, test_labels)",
    ):
        assert setting in fit, f"notebook 05 no longer trains with {setting}"
    assert "batch_size=" not in fit.replace("validation_batch_size=", "")
    assert _cells_of("05-depth-dropout", f"n = {setup_check.TRAIN_IMAGES}\n")

    (build,) = _cells_of("05-depth-dropout", "model_dropout = keras.Model(")
    network = inspect.getsource(setup_check.dropout_network)
    layers = [line.strip() for line in build.splitlines() if "keras.layers." in line]
    assert len(layers) == 9
    missing = [line for line in layers if line not in network]
    assert not missing, f"the timing run's network lacks {missing}"


# --------------------------------------------------------------------------
# The whole check, as a learner runs it


def _files(folder: Path):
    """Size and modification time of every file below folder.

    Python's own bytecode caches (``__pycache__``) are left out.
    """
    listing = {}
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            path = os.path.join(root, name)
            try:
                st = os.stat(path)
            except OSError:  # a dangling link
                continue
            listing[path] = (st.st_size, st.st_mtime_ns)
    return listing


def test_the_check_runs_in_under_a_minute_changes_nothing_and_reports_a_fail(
    tmp_path,
):
    data_dir, home = tmp_path / "data", tmp_path / "home"
    data_dir.mkdir()
    home.mkdir()
    env = dict(os.environ, CNN_LESSON_DATA_DIR=str(data_dir), HOME=str(home))
    for name in (data.ENV_ACCEPT, data.ENV_URL, "KERAS_HOME"):
        env.pop(name, None)
    # An archive that is not there: the check must say FAIL and exit with 1.
    env[data.ENV_ARCHIVE] = str(tmp_path / "missing.tar.gz")
    venv = Path(sys.prefix)
    before = _files(venv), _files(tmp_path)

    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "cnn_lesson.setup_check"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    seconds = time.perf_counter() - start

    assert (_files(venv), _files(tmp_path)) == before, "the setup check wrote files"
    assert not any(home.iterdir()), "importing Keras wrote a file to the home folder"
    lines = done.stdout.splitlines()
    results = [line for line in lines if line.startswith(("OK  ", "FAIL"))]
    names = [line[6:].split(":")[0] for line in results]
    for name in ("Python", "keras", "cnn_lesson", "CIFAR-10", "Keras", "GPU", "speed"):
        assert name in names, (name, done.stdout, done.stderr)
    assert any(line.startswith("FAIL  CIFAR-10: CIFAR10_ARCHIVE") for line in results)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "checks failed" in done.stdout
    speed = next(line for line in results if line[6:].startswith("speed"))
    assert speed.startswith("OK") and "should take about" in speed, speed
    assert seconds < 60, f"the setup check took {seconds:.0f} s"
