"""Fetch, verify and cache CIFAR-10 for the lesson.

:func:`load_cifar10` returns what ``keras.datasets.cifar10.load_data()``
returns, but

- looks first in the project's own cache (``data/cache/``), so every notebook
  after the first loads the data in a fraction of a second;
- then imports a local archive: one given as ``archive=``, one named by the
  ``CIFAR10_ARCHIVE`` environment variable, or ``cifar-10-python.tar.gz``
  dropped into ``data/`` (or the copy that Keras leaves in
  ``~/.keras/datasets/``);
- only then downloads the official archive (or the one at ``$CIFAR10_URL``),
  with a progress bar;
- trusts only the official archive's SHA-256; any other archive, and any
  cache built from one, needs an explicit opt-in (``accept_sha256=`` or
  ``CIFAR10_ACCEPT_SHA256``);
- reads the archive's members in memory, never extracting to disk, and
  unpickles them with an unpickler that can only build what a CIFAR batch
  contains (dicts, lists, bytes, numbers and numpy arrays), so an archive
  cannot run code;
- never deletes or overwrites a file it did not create, and writes its cache
  and downloads atomically under a lock, so an interrupted or concurrent
  import leaves no half-written file behind;
- still returns the data when the data folder is read-only or the disk is
  full, and says so.

Every failure is a :class:`CIFAR10Error` whose message says what happened and
what to do.
"""

import errno
import hashlib
import io
import json
import os
import pickle
import re
import sys
import tarfile
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

from cnn_lesson.paths import data_dir as default_data_dir

OFFICIAL_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
OFFICIAL_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
OFFICIAL_BYTES = 170_498_071
ARCHIVE_NAME = "cifar-10-python.tar.gz"
# Where Keras leaves the same archive: Keras 3, then Keras 2.
KERAS_ARCHIVE_NAMES = (
    "cifar-10-batches-py-target_archive",
    "cifar-10-batches-py.tar.gz",
)
DOWNLOAD_MB = 163  # size of the official archive, 170,498,071 bytes
CLASS_NAMES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
BATCH_FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"
MAX_MEMBER_BYTES = 64 << 20  # an official batch is 31 MB
MAX_BATCH_IMAGES = 10_000  # every batch of the official archive holds 10,000
MAX_MEMBERS = 1_000  # the official archive holds 8 files
CACHE_NAME = "cifar10.npz"
CACHE_FORMAT = 1
CACHE_KEYS = ("train_images", "train_labels", "test_images", "test_labels")
# Names of the loader's own unfinished files; only files named so are ever
# removed, and only while the lock is held (so no other import is writing).
CACHE_TMP = (".cifar10-", ".tmp")
LOCK_NAME = ".lock"
LOCK_TIMEOUT_S = 600
CONNECT_TIMEOUT_S = 15
READ_TIMEOUT_S = 60

ENV_ARCHIVE = "CIFAR10_ARCHIVE"
ENV_ACCEPT = "CIFAR10_ACCEPT_SHA256"
ENV_URL = "CIFAR10_URL"

HOW_TO_IMPORT = (
    "To work without a network, download cifar-10-python.tar.gz on a machine "
    f"that has one ({OFFICIAL_URL}, {DOWNLOAD_MB} MB), then copy it into the "
    "project's data/ folder or point the CIFAR10_ARCHIVE environment variable "
    "at it, and run the cell again."
)


class CIFAR10Error(RuntimeError):
    """CIFAR-10 could not be loaded; the message says why and what to do."""


class CIFAR10Interrupted(CIFAR10Error, KeyboardInterrupt):
    """A download was interrupted (Ctrl-C, or the kernel's stop button).

    It is a :class:`KeyboardInterrupt` too, so a script still stops as it
    would on any interrupt; the message says that nothing was kept.
    """


def sha256_of(path) -> str:
    """Return the SHA-256 of a file as hex, reading it in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _note(message: str):
    print(f"Note: {message}", file=sys.stderr)


# --------------------------------------------------------------------------
# Parsing an archive without running anything in it


class _Refused(pickle.UnpicklingError):
    """Internal: a pickle asked for something a batch never needs."""


def _latin1(text, encoding="latin1"):
    """What pickle protocol 2 writes for bytes under Python 3, and no more."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _Refused("it asks for an encoding that a CIFAR-10 batch never uses")
    return text.encode("latin1")


class _NdarrayName:
    """Stands for numpy.ndarray in a pickle: it can be named, not called.

    A numpy array pickles as ``_reconstruct(ndarray, (0,), dtype)`` followed by
    its bytes; calling ``ndarray(shape)`` directly would let a tiny pickle
    allocate any amount of memory.
    """

    def __new__(cls, *args, **kwargs):
        raise _Refused("it calls numpy.ndarray, which numpy's own pickles never do")


def _reconstruct_ndarray(subtype, shape, dtype):
    if subtype is not _NdarrayName or tuple(shape) != (0,):
        raise _Refused("it builds an array in a way numpy's own pickles never do")
    return np._core.multiarray._reconstruct(np.ndarray, (0,), dtype)


def _numpy_globals():
    core = np._core
    reconstruct = _reconstruct_ndarray
    scalar = core.multiarray.scalar
    frombuffer = core.numeric._frombuffer
    found = {
        ("numpy", "ndarray"): _NdarrayName,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): _latin1,
    }
    # numpy 1 wrote numpy.core..., numpy 2 writes numpy._core...
    for package in ("numpy.core", "numpy._core"):
        found[(f"{package}.multiarray", "_reconstruct")] = reconstruct
        found[(f"{package}.multiarray", "scalar")] = scalar
        found[(f"{package}.numeric", "_frombuffer")] = frombuffer
    return found


class _BatchUnpickler(pickle.Unpickler):
    """An unpickler that builds only what a CIFAR-10 batch contains.

    Plain containers, strings, bytes and numbers need no global at all; numpy
    arrays and scalars need the names in ``_ALLOWED`` (as written by pickle
    protocols 2 to 5, numpy 1 and 2), and protocol 2 under Python 3 writes
    bytes as a latin-1 ``_codecs.encode`` call. Anything else (``os.system``,
    ``builtins.eval``, ...) is refused before it can be called.
    """

    _ALLOWED = _numpy_globals()

    def find_class(self, module, name):
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise _Refused(
                f"it asks for {module}.{name}, which a CIFAR-10 batch never needs"
            ) from None


class _ArchiveProblem(Exception):
    """Internal: what is wrong with an archive, in a few words."""


def _unpickle(blob: bytes, member: str):
    try:
        return _BatchUnpickler(io.BytesIO(blob), encoding="bytes").load()
    except _Refused as err:
        raise _ArchiveProblem(
            f"its member {member} is not a plain CIFAR batch ({err}); it was "
            "refused unread, and nothing in it was run"
        ) from None
    except Exception as err:  # noqa: BLE001 - a malformed pickle raises anything
        raise _ArchiveProblem(
            f"its member {member} could not be read: it is no pickle, or a damaged "
            f"one ({type(err).__name__}: {err})"
        ) from None


def _get(d, key: str):
    if not isinstance(d, dict):
        raise KeyError(key)
    value = d.get(key.encode(), d.get(key))
    if value is None:
        raise KeyError(key)
    return value


def _parse_labels(labels, n: int, member: str) -> np.ndarray:
    try:
        labels = np.asarray(labels)
    except (TypeError, ValueError, OverflowError):
        labels = np.asarray(None)
    if labels.shape != (n,):
        raise _ArchiveProblem(
            f"{member}: 'labels' should be a flat list of {n} class numbers, one "
            f"per image, but has shape {labels.shape}"
        )
    if n and not np.issubdtype(labels.dtype, np.integer):
        raise _ArchiveProblem(
            f"{member}: 'labels' are not whole numbers (they are {labels.dtype})"
        )
    if n and (labels.min() < 0 or labels.max() > 9):
        raise _ArchiveProblem(
            f"{member}: labels run from {labels.min()} to {labels.max()}, "
            "outside the class numbers 0..9"
        )
    return labels.astype(np.uint8).reshape(-1, 1)


def _parse_batch(blob: bytes, member: str):
    batch = _unpickle(blob, member)
    try:
        data, labels = _get(batch, "data"), _get(batch, "labels")
    except KeyError:
        raise _ArchiveProblem(f"{member} has no 'data' and 'labels' entries") from None
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8:
        kind = data.dtype if isinstance(data, np.ndarray) else type(data).__name__
        raise _ArchiveProblem(
            f"{member}: 'data' should be an array of uint8 pixels, not {kind}"
        )
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise _ArchiveProblem(f"{member}: 'data' has shape {data.shape}, not (n, 3072)")
    if data.shape[0] > MAX_BATCH_IMAGES:
        raise _ArchiveProblem(
            f"{member} holds {data.shape[0]:,} images; a CIFAR-10 batch holds "
            f"{MAX_BATCH_IMAGES:,}"
        )
    labels = _parse_labels(labels, data.shape[0], member)
    # Same layout as Keras: channel planes -> (n, 32, 32, 3).
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return images, labels


def _check_member(member: tarfile.TarInfo):
    name = member.name
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or os.path.isabs(name) or ".." in parts:
        raise _ArchiveProblem(f"it has a member with an unsafe path ({name!r})")
    if member.issym() or member.islnk():
        raise _ArchiveProblem(f"it has a link member ({name!r} -> {member.linkname!r})")
    if not (member.isfile() or member.isdir()):
        raise _ArchiveProblem(f"it has a special-file member ({name!r})")
    if member.isfile() and member.size > MAX_MEMBER_BYTES:
        raise _ArchiveProblem(
            f"its member {name!r} holds {member.size:,} bytes, far more than a "
            "CIFAR-10 batch"
        )


def _sniff(path: Path):
    """Say in plain words what a file is, if it is clearly no .tar.gz."""
    with open(path, "rb") as f:
        head = f.read(512)
    if not head:
        raise _ArchiveProblem(
            "it is empty (0 bytes), as an interrupted download or copy leaves it"
        )
    if head[:2] != b"\x1f\x8b":
        if head[257:262] == b"ustar":
            raise _ArchiveProblem(
                "it is an uncompressed tar archive, not the gzip-compressed "
                "cifar-10-python.tar.gz as published"
            )
        raise _ArchiveProblem(
            f"it is not gzip-compressed (it starts with bytes {head[:4].hex(' ')}, "
            "a .tar.gz starts with 1f 8b)"
        )


def _tar_problem(err: Exception) -> _ArchiveProblem:
    if isinstance(err, EOFError):
        return _ArchiveProblem(
            "it ends early: the compressed data is cut off, as an interrupted "
            f"download or copy leaves it ({err})"
        )
    if isinstance(err, tarfile.ReadError):
        return _ArchiveProblem(
            f"it is gzip-compressed, but what it holds is not a tar archive ({err})"
        )
    return _ArchiveProblem(f"its compressed data is damaged ({err})")


def _read_archive(path: Path, progress: bool):
    """Return (train_images, train_labels, test_images, test_labels)."""
    from tqdm import tqdm

    wanted = {*TRAIN_BATCHES, TEST_BATCH, META}
    blobs = {}
    try:
        _sniff(path)
        with (
            tarfile.open(path, "r:gz") as tar,
            tqdm(
                total=len(wanted),
                desc="importing CIFAR-10",
                unit="file",
                disable=not progress,
                file=sys.stderr,
            ) as bar,
        ):
            for count, member in enumerate(tar, start=1):
                if count > MAX_MEMBERS:
                    raise _ArchiveProblem(
                        f"it holds over {MAX_MEMBERS:,} files; the CIFAR-10 "
                        "archive holds eight"
                    )
                _check_member(member)
                folder, _, base = member.name.rpartition("/")
                if (
                    member.isfile()
                    and base in wanted
                    and folder.rpartition("/")[2] == BATCH_FOLDER
                ):
                    if base in blobs:
                        raise _ArchiveProblem(f"it holds {base} twice")
                    blobs[base] = tar.extractfile(member).read()
                    bar.update(1)
    except _ArchiveProblem:
        raise
    except PermissionError as err:
        raise _ArchiveProblem(f"it cannot be read ({err.strerror})") from None
    except (tarfile.TarError, EOFError, OSError, zlib.error) as err:
        raise _tar_problem(err) from None
    missing = sorted(wanted - set(blobs))
    if missing:
        raise _ArchiveProblem(
            "it lacks " + ", ".join(f"{BATCH_FOLDER}/{m}" for m in missing)
        )
    meta = _unpickle(blobs[META], META)
    try:
        names = tuple(
            n.decode() if isinstance(n, bytes) else str(n)
            for n in _get(meta, "label_names")
        )
    except (KeyError, TypeError, UnicodeDecodeError):
        raise _ArchiveProblem(f"{META} has no list of label names") from None
    if names != CLASS_NAMES:
        raise _ArchiveProblem(
            f"{META} names the classes {list(names)}, not CIFAR-10's "
            f"{list(CLASS_NAMES)} in that order"
        )
    train = [_parse_batch(blobs[b], b) for b in TRAIN_BATCHES]
    test_images, test_labels = _parse_batch(blobs[TEST_BATCH], TEST_BATCH)
    train_images = np.concatenate([t[0] for t in train])
    train_labels = np.concatenate([t[1] for t in train])
    return (
        np.ascontiguousarray(train_images),
        train_labels,
        np.ascontiguousarray(test_images),
        test_labels,
    )


# --------------------------------------------------------------------------
# The project's cache


class _CacheProblem(Exception):
    """Internal: why a cache file is not used."""


def _read_cache(cache: Path):
    """Return (arrays, meta) from the cache, or None if there is none.

    Raises _CacheProblem if a cache file is there but cannot be trusted to hold
    what an import would give (damaged, half written, other format).
    """
    try:
        if not cache.exists():
            return None
    except OSError as err:
        raise _CacheProblem(f"it cannot be reached ({err.strerror or err})") from None
    try:
        with np.load(cache, allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"]))
            if not isinstance(meta, dict) or meta.get("format") != CACHE_FORMAT:
                raise _CacheProblem("it was written in another format")
            arrays = tuple(npz[k] for k in CACHE_KEYS)
    except _CacheProblem:
        raise
    except Exception as err:  # noqa: BLE001 - truncated, CRC error, not a zip...
        raise _CacheProblem(
            f"it is damaged or half written ({type(err).__name__})"
        ) from None
    train_images, train_labels, test_images, test_labels = arrays
    ok = (
        isinstance(meta.get("sha256"), str)
        and train_images.dtype == test_images.dtype == np.uint8
        and train_labels.dtype == test_labels.dtype == np.uint8
        and train_images.shape[1:] == test_images.shape[1:] == (32, 32, 3)
        and train_labels.shape == (len(train_images), 1)
        and test_labels.shape == (len(test_images), 1)
        and len(train_images) == meta.get("n_train")
        and len(test_images) == meta.get("n_test")
        and all(labels.size == 0 or labels.max() <= 9 for labels in arrays[1::2])
    )
    if not ok:
        raise _CacheProblem("its arrays are not what its record says")
    return arrays, meta


def _write_cache(cache: Path, arrays, meta: dict):
    """Write the cache atomically: a temporary file, then one rename."""
    meta = dict(
        meta, format=CACHE_FORMAT, n_train=len(arrays[0]), n_test=len(arrays[2])
    )
    fd, tmp = tempfile.mkstemp(
        dir=cache.parent, prefix=CACHE_TMP[0], suffix=CACHE_TMP[1]
    )
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(
                f, **dict(zip(CACHE_KEYS, arrays)), meta=np.array(json.dumps(meta))
            )
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, cache)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _cache_write_note(cache: Path, err: OSError, arrays) -> str:
    megabytes = sum(a.nbytes for a in arrays) / 1e6
    if err.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        why = (
            f"there is not enough free disk space in {cache.parent} (it needs "
            f"about {megabytes:.0f} MB). Free some space to make later loads fast"
        )
    elif err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        why = (
            f"{cache.parent} is not writable. Point CNN_LESSON_DATA_DIR at a "
            "folder you can write to, to make later loads fast"
        )
    else:
        why = (
            f"{err.strerror or err}. Check the folder {cache.parent}, to make "
            "later loads fast"
        )
    return (
        f"the cache {cache} could not be written: {why}. The data is loaded "
        "correctly; the next load will import the archive again. No partial "
        "file was left behind."
    )


def _is_file(path: Path):
    """True or False, or None when a folder on the path may not be searched."""
    try:
        return path.is_file()
    except PermissionError:
        return None
    except OSError:
        return False


def _remove_own_leftovers(folder: Path, prefix: str, suffix: str):
    """Remove unfinished files of an import that was killed (lock held)."""
    try:
        leftovers = list(folder.glob(f"{prefix}*{suffix}"))
    except OSError:
        return
    for leftover in leftovers:
        try:
            leftover.unlink()
        except OSError:
            pass


# --------------------------------------------------------------------------
# Finding and verifying an archive


def _stat_key(path: Path) -> dict:
    st = path.stat()
    return {
        "path": str(path.resolve()),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "ctime_ns": st.st_ctime_ns,
    }


def _hash_archive(path: Path) -> str:
    try:
        return sha256_of(path)
    except OSError as err:
        raise CIFAR10Error(
            f"The archive {path} could not be read ({err.strerror or err}). Check "
            "that the file is there and that you may read it, then run the cell "
            "again."
        ) from None


def _accepted(accept_sha256) -> set:
    """The opted-in checksums, from the argument and the environment."""
    accept = set()
    for source, value in (
        ("accept_sha256=", accept_sha256),
        (ENV_ACCEPT, os.environ.get(ENV_ACCEPT)),
    ):
        for item in re.split(r"[\s,]+", value or ""):
            item = item.lower().removeprefix("sha256:")
            if not item:
                continue
            if not re.fullmatch(r"[0-9a-f]{64}", item):
                raise CIFAR10Error(
                    f"{source} was given {item!r}, which is not a SHA-256 checksum "
                    "(64 hexadecimal digits). Copy the checksum from the message "
                    "that refused the archive, or from sha256sum's output."
                )
            accept.add(item)
    return accept


def _refuse_checksum(path: Path, digest: str) -> CIFAR10Error:
    size = path.stat().st_size
    if size == 0:
        hint = "The file is empty. "
    elif size != OFFICIAL_BYTES:
        hint = f"It has {size:,} bytes; the official archive has {OFFICIAL_BYTES:,}. "
    else:
        hint = ""
    return CIFAR10Error(
        f"The archive {path} has SHA-256 {digest}, not that of the official "
        f"CIFAR-10 archive ({OFFICIAL_SHA256}), so it was not loaded; the file "
        f"has not been changed. {hint}If it is an interrupted or damaged download, "
        "delete it yourself and run the cell again, or copy a complete archive "
        "from another machine. If you know this archive is a different but "
        "trustworthy one (for example one rebuilt for offline tests), accept it "
        f'explicitly with load_cifar10(accept_sha256="{digest}") or by setting '
        f"the environment variable {ENV_ACCEPT}={digest}."
    )


def _local_candidates(folder: Path):
    """Archives that a user may have put down by hand, in the order tried."""
    yield folder / ARCHIVE_NAME
    for name in KERAS_ARCHIVE_NAMES:
        yield Path.home() / ".keras" / "datasets" / name
    yield folder / "downloads" / ARCHIVE_NAME


# --------------------------------------------------------------------------
# Downloading


def _connection_problem(err) -> str:
    """What a requests ConnectionError means, in a few words."""
    import socket

    import urllib3

    seen, todo = set(), [err]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, (urllib3.exceptions.NameResolutionError, socket.gaierror)):
            return (
                "the server's name could not be resolved: this machine seems to "
                "be offline, or its DNS does not work"
            )
        if isinstance(e, (urllib3.exceptions.ReadTimeoutError, TimeoutError)):
            return "timeout"
        if isinstance(e, ConnectionRefusedError) or "refused" in str(e).lower():
            return "the server refused the connection (nothing answers at that port)"
        todo += [e.__cause__, e.__context__, getattr(e, "reason", None)]
        todo += [a for a in getattr(e, "args", ()) if isinstance(a, BaseException)]
    return "the connection failed"


def _expected_hash(url: str, accept: set):
    """The one checksum the download must have, or None if several would do."""
    if url == OFFICIAL_URL or not accept:
        return OFFICIAL_SHA256
    return next(iter(accept)) if len(accept) == 1 else None


def _download(folder: Path, accept: set, progress: bool, verbose: bool):
    """Download the archive into data/downloads/ with pooch; return (path, sha256).

    pooch writes to a temporary file in the same folder, checks the SHA-256, and
    only then renames it, so an interrupted or failed download leaves nothing.
    """
    import pooch
    import requests
    import urllib3

    url = os.environ.get(ENV_URL) or OFFICIAL_URL
    target = folder / "downloads"
    try:
        target.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=target):
            pass  # the folder takes new files
    except OSError as err:
        raise CIFAR10Error(
            f"CIFAR-10 is not on this machine, and it cannot be downloaded into "
            f"{target} ({err.strerror or err}). Point the CNN_LESSON_DATA_DIR "
            "environment variable at a folder you can write to, or import the "
            "archive by hand. " + HOW_TO_IMPORT
        ) from None
    expected = _expected_hash(url, accept)
    if verbose:
        print(f"Downloading CIFAR-10 ({DOWNLOAD_MB} MB) from {url} to {target} ...")
    start = time.perf_counter()
    try:
        path = pooch.retrieve(
            url,
            known_hash=f"sha256:{expected}" if expected else None,
            fname=ARCHIVE_NAME,
            path=target,
            downloader=pooch.HTTPDownloader(
                progressbar=progress,
                timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S),
                headers={"Accept-Encoding": "identity"},
            ),
        )
    except KeyboardInterrupt:
        raise CIFAR10Interrupted(
            f"The download of CIFAR-10 from {url} was interrupted; the partial "
            "file was removed, so nothing was kept and the next attempt starts "
            "afresh. Run the cell again to restart the download. " + HOW_TO_IMPORT
        ) from None
    except requests.exceptions.SSLError as err:
        raise CIFAR10Error(
            f"The secure (TLS) connection for the download from {url} failed "
            f"({err}). Networks behind a university or company proxy often "
            "replace certificates: ask your IT staff for the proxy's "
            "certificate (REQUESTS_CA_BUNDLE points requests at it). If "
            f"{ENV_URL} is set, check that its server speaks https. " + HOW_TO_IMPORT
        ) from None
    except requests.exceptions.HTTPError as err:
        raise CIFAR10Error(
            f"The server answered the download of {url} with an error "
            f"(HTTP {err.response.status_code} {err.response.reason}). The "
            f"address may be wrong (check {ENV_URL}, if set) or the server "
            "may be down; try again later. " + HOW_TO_IMPORT
        ) from None
    except (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError):
        raise _timed_out(url) from None
    except requests.exceptions.ConnectionError as err:
        problem = _connection_problem(err)
        if problem == "timeout":
            raise _timed_out(url) from None
        if problem == "the connection failed":
            raise _broke_off(url) from None
        raise CIFAR10Error(
            f"CIFAR-10 is not on this machine and could not be downloaded from "
            f"{url}: {problem}. Check the network connection (and {ENV_URL}, if "
            "set). " + HOW_TO_IMPORT
        ) from None
    except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError):
        raise _broke_off(url) from None
    except ValueError as err:  # pooch: the checksum does not match
        found = re.search(r"but got ([0-9a-f]{64})", str(err))
        got = found.group(1) if found else "of another file"
        raise CIFAR10Error(
            f"The file downloaded from {url} has SHA-256 {got}, not that of the "
            f"official CIFAR-10 archive ({OFFICIAL_SHA256})"
            + (f" nor the accepted {', '.join(sorted(accept))}" if accept else "")
            + ", so "
            "it was discarded and nothing was kept. The server may have sent an "
            "error page or another file; try again later. If you know that this "
            "server's archive is a trustworthy rebuild, accept it with "
            f'load_cifar10(accept_sha256="{got}") or by setting '
            f"{ENV_ACCEPT}={got}. " + HOW_TO_IMPORT
        ) from None
    except OSError as err:  # writing the file
        raise CIFAR10Error(
            f"The download from {url} could not be saved in {target} "
            f"({err.strerror or err}); the partial file was removed. Free "
            f"about {DOWNLOAD_MB} MB of disk space or point "
            "CNN_LESSON_DATA_DIR at another folder, and run the cell again. "
            + HOW_TO_IMPORT
        ) from None
    return _checked_download(Path(path), url, expected, accept, start, verbose)


def _timed_out(url: str) -> CIFAR10Error:
    return CIFAR10Error(
        f"The download from {url} timed out: the server stopped answering. "
        "The partial file was removed, so nothing was kept; check the network "
        "connection and run the cell again. " + HOW_TO_IMPORT
    )


def _checked_download(path, url, expected, accept, start, verbose):
    """Check a finished download against the trusted checksums; return it."""
    digest = expected or sha256_of(path)
    if digest not in {OFFICIAL_SHA256} | accept:
        path.unlink()  # the file this call just downloaded, never the user's
        raise CIFAR10Error(
            f"The file downloaded from {url} has SHA-256 {digest}, which is "
            f"neither the official one ({OFFICIAL_SHA256}) nor one accepted, so "
            "it was discarded. " + HOW_TO_IMPORT
        )
    if verbose:
        size = path.stat().st_size / 2**20
        print(
            f"Downloaded {size:.0f} MB in {time.perf_counter() - start:.0f} s to {path}"
        )
    return path, digest


def _broke_off(url: str) -> CIFAR10Error:
    return CIFAR10Error(
        f"The download from {url} broke off: the server closed the connection "
        "before the end. The partial file was removed, so the next attempt "
        "starts afresh; run the cell again. " + HOW_TO_IMPORT
    )


# --------------------------------------------------------------------------
# The entry point


def load_cifar10(
    archive=None,
    *,
    accept_sha256=None,
    data_dir=None,
    download=True,
    verbose=True,
):
    """Load CIFAR-10 as ``keras.datasets.cifar10.load_data()`` does.

    Parameters
    ----------
    archive : str or Path, optional
        A local ``cifar-10-python.tar.gz`` to import. Defaults to
        ``$CIFAR10_ARCHIVE``, then to the places listed in this module's
        docstring.
    accept_sha256 : str, optional
        The SHA-256 of an archive that is not the official one but is to be
        trusted anyway. Defaults to ``$CIFAR10_ACCEPT_SHA256``.
    data_dir : str or Path, optional
        Where the cache and downloads live; defaults to ``$CNN_LESSON_DATA_DIR``,
        then to the project's ``data/``.
    download : bool
        Whether to download the archive when none is found.
    verbose : bool
        Print where the data came from, and show progress bars.

    Returns
    -------
    (train_images, train_labels), (test_images, test_labels)
        uint8 arrays of shapes (50000, 32, 32, 3), (50000, 1),
        (10000, 32, 32, 3) and (10000, 1).

    Raises
    ------
    CIFAR10Error
        With a message that says what went wrong and what to do.
    """
    start = time.perf_counter()
    folder = Path(data_dir).expanduser() if data_dir else default_data_dir()
    explicit = archive or os.environ.get(ENV_ARCHIVE)
    explicit = Path(explicit).expanduser() if explicit else None
    accept = _accepted(accept_sha256)
    if explicit is not None and not _is_file(explicit):
        if _is_file(explicit) is None:
            raise CIFAR10Error(
                f"The CIFAR-10 archive {explicit} (given as archive= or in "
                f"{ENV_ARCHIVE}) cannot be reached: a folder on its path does not "
                "let you in (permission denied). Check the folder permissions, or "
                "copy the archive into the project's data/ folder."
            )
        what = "is a folder, not a file" if explicit.is_dir() else "does not exist"
        raise CIFAR10Error(
            f"The CIFAR-10 archive {explicit} {what} (it was given as archive= or "
            f"in {ENV_ARCHIVE}). Check the path: it should name the file "
            f"{ARCHIVE_NAME} itself, not a folder extracted from it; or unset "
            f"{ENV_ARCHIVE} to let the loader look in data/ and download the "
            "archive if needed."
        )
    cache = folder / "cache" / CACHE_NAME
    lock = _lock(cache.parent, verbose)
    try:
        result, how = _load(
            folder, cache, explicit, accept, download, verbose, lock is not None
        )
    finally:
        if lock is not None:
            lock.release()
    if verbose:
        print(f"CIFAR-10 {how} in {time.perf_counter() - start:.2f} s")
    train_images, train_labels, test_images, test_labels = result
    return (train_images, train_labels), (test_images, test_labels)


def _lock(cache_dir: Path, verbose: bool):
    """Take the cache's lock; None if the folder cannot be written to.

    Whether a folder is writable is found out by trying (creating the folder
    and the lock file), not by os.access, which says yes to root everywhere.
    """
    from filelock import FileLock, Timeout

    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(cache_dir / LOCK_NAME))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if verbose:
                print(
                    f"Waiting for another process that is importing CIFAR-10 into "
                    f"{cache_dir} (at most {LOCK_TIMEOUT_S} s) ..."
                )
            lock.acquire(timeout=LOCK_TIMEOUT_S)
    except Timeout:
        raise CIFAR10Error(
            f"Another process has been importing CIFAR-10 into {cache_dir} "
            f"for over {LOCK_TIMEOUT_S} s. Wait for it to finish, or stop it "
            "and run the cell again."
        ) from None
    except OSError:
        return None
    return lock


def _load(folder, cache, explicit, accept, download, verbose, writable):
    trusted = {OFFICIAL_SHA256} | accept
    if writable:
        _remove_own_leftovers(cache.parent, *CACHE_TMP)
    try:
        cached = _read_cache(cache)
    except _CacheProblem as problem:
        cached = None
        _note(
            f"the cache {cache} is not used: {problem}."
            + (" It will be rebuilt." if writable else "")
        )
    digest = None
    if cached is not None:
        arrays, meta = cached
        if meta["sha256"] not in trusted:
            _note(
                f"the cache {cache} was built from an archive with SHA-256 "
                f"{meta['sha256']}, which is neither the official one nor accepted "
                f"here, so it is not used. Set {ENV_ACCEPT}={meta['sha256']} (or "
                "pass accept_sha256=) if you trust that archive."
            )
        elif explicit is None or meta.get("source") == _stat_key(explicit):
            return arrays, f"loaded from the cache {cache}"
        else:
            digest = _hash_archive(explicit)
            if digest == meta["sha256"]:
                return arrays, f"loaded from the cache {cache}"
            if verbose:
                print(f"{explicit} is not the archive that was cached; importing it.")

    if explicit is not None:
        path = explicit
    else:
        path = next((p for p in _local_candidates(folder) if _is_file(p)), None)
        if path is None:
            if not download:
                raise CIFAR10Error(
                    f"CIFAR-10 was not found in {folder} and downloading is "
                    "switched off. " + HOW_TO_IMPORT
                )
            path, digest = _download(folder, accept, verbose, verbose)
    digest = digest or _hash_archive(path)
    if digest not in trusted:
        raise _refuse_checksum(path, digest)
    try:
        arrays = _read_archive(path, verbose)
    except _ArchiveProblem as problem:
        raise CIFAR10Error(
            f"The archive {path} cannot be used: {problem}. Nothing was written "
            "and the file has not been changed. Replace it with a complete copy "
            f"of the official archive (SHA-256 {OFFICIAL_SHA256}). " + HOW_TO_IMPORT
        ) from None

    if not writable:
        return arrays, (
            f"imported from {path} (not cached: {cache.parent} is not writable, "
            "so the next load will import the archive again)"
        )
    try:
        _write_cache(cache, arrays, {"sha256": digest, "source": _stat_key(path)})
    except OSError as err:
        _note(_cache_write_note(cache, err, arrays))
        return arrays, f"imported from {path} (not cached)"
    return arrays, f"imported from {path} and cached in {cache}"
