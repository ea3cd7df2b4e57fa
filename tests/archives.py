"""Small CIFAR-10 archives, good and broken, for the data loader's tests.

An archive written here has the official layout
(``cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}``, pickled
dicts with ``b"data"``, ``b"labels"``, ``b"batch_label"``, ``b"filenames"``)
but only a few random, seeded images per batch, so a test can build one in
milliseconds and know exactly which arrays the loader must return.
"""

import hashlib
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnn_lesson.data import (
    BATCH_FOLDER,
    CACHE_NAME,
    CLASS_NAMES,
    LOCK_NAME,
    META,
    TEST_BATCH,
    TRAIN_BATCHES,
)

BATCHES = (*TRAIN_BATCHES, TEST_BATCH)
MEMBERS = (*BATCHES, META)
REPO = Path(__file__).resolve().parent.parent
# A loopback port that nothing listens on: the default download address in
# tests, so that no test can ever reach the real server by mistake.
NOWHERE_URL = "http://127.0.0.1:9/cifar-10-python.tar.gz"


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --------------------------------------------------------------------------
# What goes into an archive


def batch_dict(rng: np.random.Generator, n: int, name: str) -> dict:
    """A batch as the official archive pickles it."""
    return {
        b"batch_label": f"{name} of 6 (test archive)".encode(),
        b"labels": [int(x) for x in rng.integers(0, 10, size=n)],
        b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
        b"filenames": [f"{name}_{i:04d}.png".encode() for i in range(n)],
    }


def meta_dict(names=CLASS_NAMES, n: int = 4) -> dict:
    return {
        b"num_cases_per_batch": n,
        b"label_names": [name.encode() for name in names],
        b"num_vis": 3072,
    }


def cifar_contents(seed: int = 0, n: int = 4) -> dict:
    """Member name -> the dict pickled into it, for a whole archive."""
    rng = np.random.default_rng(seed)
    contents = {name: batch_dict(rng, n, name) for name in BATCHES}
    contents[META] = meta_dict(n=n)
    return contents


def expected_arrays(contents: dict):
    """(train_images, train_labels, test_images, test_labels) as Keras gives them.

    Built plane by plane (red, green, blue rows of 1024 pixels), independently
    of the loader's own reshape.
    """

    def images(batch):
        data = batch[b"data"]
        planes = [
            data[:, c * 1024 : (c + 1) * 1024].reshape(-1, 32, 32) for c in range(3)
        ]
        return np.stack(planes, axis=-1)

    def labels(batch):
        return np.array(batch[b"labels"], dtype=np.uint8).reshape(-1, 1)

    train = [contents[name] for name in TRAIN_BATCHES]
    test = contents[TEST_BATCH]
    return (
        np.concatenate([images(b) for b in train]),
        np.concatenate([labels(b) for b in train]),
        images(test),
        labels(test),
    )


# --------------------------------------------------------------------------
# Pickling the way the official archive (Python 2's cPickle) did


class _Python2Pickler(pickle._Pickler):
    """Writes bytes and str as Python 2 ``str`` (BINSTRING), as cPickle did."""

    dispatch = pickle._Pickler.dispatch.copy()

    def _save_as_python2_str(self, obj):
        raw = obj if isinstance(obj, bytes) else obj.encode("latin1")
        if len(raw) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(raw)]) + raw)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(raw)) + raw)
        self.memoize(obj)

    dispatch[bytes] = _save_as_python2_str
    dispatch[str] = _save_as_python2_str


def python2_style_pickle(obj) -> bytes:
    buffer = io.BytesIO()
    _Python2Pickler(buffer, protocol=2).dump(obj)
    # numpy 1 (and so the official archive) names numpy.core, not numpy._core.
    return buffer.getvalue().replace(b"cnumpy._core.", b"cnumpy.core.")


# --------------------------------------------------------------------------
# Writing archives


def member_info(name: str, size: int = 0, **fields) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = 1_262_304_000
    info.mode = 0o644
    for key, value in fields.items():
        setattr(info, key, value)
    return info


def write_archive(
    path,
    contents: dict,
    *,
    extra=(),
    protocol: int = 4,
    folder: str = BATCH_FOLDER,
    compress: bool = True,
    compresslevel: int = 9,
) -> Path:
    """Write a tar (.gz) with a member per entry of contents.

    A value that is bytes is stored as it is; anything else is pickled with
    the given protocol (or ``"python2"``); compresslevel 0 makes the size
    depend on the members' sizes alone. ``extra`` holds further
    (TarInfo, bytes or None) members, added after the others.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"compresslevel": compresslevel} if compress else {}
    with tarfile.open(path, "w:gz" if compress else "w", **options) as tar:
        tar.addfile(member_info(folder, type=tarfile.DIRTYPE, mode=0o755))
        for name, value in contents.items():
            if isinstance(value, bytes):
                blob = value
            elif protocol == "python2":
                blob = python2_style_pickle(value)
            else:
                blob = pickle.dumps(value, protocol=protocol)
            tar.addfile(member_info(f"{folder}/{name}", len(blob)), io.BytesIO(blob))
        for info, blob in extra:
            tar.addfile(info, io.BytesIO(blob) if blob is not None else None)
    return path


@dataclass
class Archive:
    """An archive written by make_archive, and what loading it must give."""

    path: Path
    contents: dict

    @property
    def sha256(self) -> str:
        return sha256(self.path)

    @property
    def expected(self):
        return expected_arrays(self.contents)


def make_archive(path, *, seed: int = 0, n: int = 4, **options) -> Archive:
    contents = cifar_contents(seed, n)
    write_archive(path, contents, **options)
    return Archive(Path(path), contents)


# --------------------------------------------------------------------------
# Checking what a load gave and left behind


def assert_loaded(result, archive: Archive):
    """The arrays are those written into the archive, shaped as Keras's."""
    (train_images, train_labels), (test_images, test_labels) = result
    want = archive.expected
    got = (train_images, train_labels, test_images, test_labels)
    n_train, n_test = len(want[0]), len(want[2])
    shapes = [(n_train, 32, 32, 3), (n_train, 1), (n_test, 32, 32, 3), (n_test, 1)]
    for array, expected, shape in zip(got, want, shapes):
        assert isinstance(array, np.ndarray)
        assert array.dtype == np.uint8
        assert array.shape == shape
        np.testing.assert_array_equal(array, expected)


def files_under(folder) -> dict:
    """Relative path -> SHA-256 of every file below folder."""
    folder = Path(folder)
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): sha256(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() or p.is_symlink()
    }


def assert_no_cache_left(data_dir):
    """No cache file, temporary file or partial download that a load could use."""
    data_dir = Path(data_dir)
    cache_dir = data_dir / "cache"
    left = sorted(p.name for p in cache_dir.iterdir()) if cache_dir.exists() else []
    assert set(left) <= {LOCK_NAME}, f"left in the cache folder: {left}"
    downloads = data_dir / "downloads"
    left = sorted(p.name for p in downloads.iterdir()) if downloads.exists() else []
    assert left == [], f"left in the downloads folder: {left}"


def assert_one_paragraph(message: str):
    assert message.strip() and "\n" not in message, message


def isolate(monkeypatch, tmp_path) -> Path:
    """Point every place the loader looks at into tmp_path; return a data dir.

    HOME moves (so ~/.keras is empty), the loader's variables are unset, the
    default data folder and the temp folder live in tmp_path, proxies are
    switched off and the download address is a closed loopback port.
    """
    for name in ("CIFAR10_ARCHIVE", "CIFAR10_ACCEPT_SHA256"):
        monkeypatch.delenv(name, raising=False)
    for name in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("NO_PROXY", "*")
    monkeypatch.setenv("CIFAR10_URL", NOWHERE_URL)
    for name in ("home", "tmp", "cwd", "default-data"):
        (tmp_path / name).mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    monkeypatch.setattr(tempfile, "tempdir", None)
    monkeypatch.setenv("CNN_LESSON_DATA_DIR", str(tmp_path / "default-data"))
    monkeypatch.chdir(tmp_path / "cwd")
    return tmp_path / "data"


def assert_later_good_load_works(data_dir, tmp_path, seed: int = 99):
    """A good archive loads into data_dir afterwards, and is then cached."""
    from cnn_lesson.data import load_cifar10

    good = make_archive(tmp_path / f"good-{seed}" / "cifar-10-python.tar.gz", seed=seed)
    result = load_cifar10(
        good.path, accept_sha256=good.sha256, data_dir=data_dir, verbose=False
    )
    assert_loaded(result, good)
    assert (Path(data_dir) / "cache" / CACHE_NAME).is_file()


# --------------------------------------------------------------------------
# Loading in another process


_LOADER = """
import hashlib, json, os, sys, time
from cnn_lesson.data import CIFAR10Error, load_cifar10
kwargs = json.loads(sys.argv[1])
ready, go = kwargs.pop("_ready", None), kwargs.pop("_go", None)
if ready:
    open(ready, "w").close()
while go and not os.path.exists(go):
    time.sleep(0.001)
try:
    (a, b), (c, d) = load_cifar10(**kwargs)
except CIFAR10Error as err:
    print("RESULT " + json.dumps({"error": str(err)}))
else:
    print("RESULT " + json.dumps({
        "sha256": [hashlib.sha256(x.tobytes()).hexdigest() for x in (a, b, c, d)],
        "shapes": [list(x.shape) for x in (a, b, c, d)],
        "dtypes": [str(x.dtype) for x in (a, b, c, d)],
    }))
"""


def array_digests(arrays) -> list:
    return [
        hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest() for x in arrays
    ]


def start_loader(kwargs: dict, *, env=None, **popen) -> subprocess.Popen:
    """Start load_cifar10(**kwargs) in a fresh Python; see loader_result.

    kwargs may also hold "_ready" (a file the process creates once it is
    about to load) and "_go" (a file it waits for before loading), so that
    several processes can be made to load at the same moment.
    """
    full_env = dict(os.environ if env is None else env)
    full_env["PYTHONPATH"] = str(REPO)
    full_env["PYTHONDONTWRITEBYTECODE"] = "1"
    return subprocess.Popen(
        [sys.executable, "-c", _LOADER, json.dumps(kwargs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
        cwd=popen.pop("cwd", None) or tempfile.gettempdir(),
        **popen,
    )


def loader_result(process: subprocess.Popen, timeout: float = 60):
    """(result dict, stdout, stderr) of a process from start_loader."""
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err
    lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
    assert len(lines) == 1, out + err
    return json.loads(lines[0][len("RESULT ") :]), out, err


def _drop_permission_override():  # runs in the child, before exec
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop, cap_dac_override, cap_dac_read_search = 24, 1, 2
    for cap in (cap_dac_override, cap_dac_read_search):
        if libc.prctl(pr_capbset_drop, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def as_user_bound_by_permissions() -> dict:
    """Popen options under which file permissions bind the child process.

    root ignores permission bits (CAP_DAC_OVERRIDE), so a chmod'ed folder is
    not read-only to it. For root, the child is started without that
    capability (dropped from its bounding set before exec, Linux), so the
    kernel refuses its writes to a 0o555 folder exactly as it would a user's;
    anyone else is bound by permissions anyway.
    """
    if os.geteuid() != 0:
        return {}
    return {"preexec_fn": _drop_permission_override}
