"""load_cifar10's cache: trusted only when it is whole and from a trusted archive."""

import errno
import json
import os
import resource
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest
from archives import (
    LOCK_NAME,
    Archive,
    array_digests,
    as_user_bound_by_permissions,
    assert_later_good_load_works,
    assert_loaded,
    assert_no_cache_left,
    assert_one_paragraph,
    files_under,
    isolate,
    loader_result,
    make_archive,
    sha256,
    start_loader,
)

from cnn_lesson import data
from cnn_lesson.data import CACHE_NAME, CIFAR10Error, load_cifar10


@pytest.fixture(autouse=True)
def data_dir(monkeypatch, tmp_path):
    return isolate(monkeypatch, tmp_path)


@pytest.fixture
def archive(tmp_path):
    return make_archive(tmp_path / "in" / "cifar-10-python.tar.gz", seed=1)


@pytest.fixture
def other_archive(tmp_path):
    return make_archive(tmp_path / "other" / "cifar-10-python.tar.gz", seed=2)


def load(archive_path, data_dir, **kwargs):
    kwargs.setdefault("verbose", False)
    return load_cifar10(archive_path, data_dir=data_dir, **kwargs)


def cache_file(data_dir):
    return data_dir / "cache" / CACHE_NAME


def cache_came_from(data_dir, archive) -> bool:
    """The cache is whole, and holds that archive's arrays."""
    with np.load(cache_file(data_dir), allow_pickle=False) as npz:
        meta = json.loads(str(npz["meta"]))
        arrays = [npz[k] for k in data.CACHE_KEYS]
    want = archive.expected
    return meta["sha256"] == archive.sha256 and all(
        np.array_equal(a, b) for a, b in zip(arrays, want)
    )


# --------------------------------------------------------------------------
# Caches that must not be trusted


def _older_format(path, archive):
    zeros = np.zeros((1, 32, 32, 3), np.uint8)
    meta = {"format": 0, "sha256": archive.sha256, "n_train": 1, "n_test": 1}
    np.savez(
        path,
        train_images=zeros,
        train_labels=np.zeros((1, 1), np.uint8),
        test_images=zeros,
        test_labels=np.zeros((1, 1), np.uint8),
        meta=np.array(json.dumps(meta)),
    )


def _half_written(path, archive):
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])


def _not_a_zip(path, archive):
    path.write_bytes(b"this is not a cache")


def _arrays_not_as_recorded(path, archive):
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["test_images"] = arrays["test_images"][:-1]
    np.savez(path, **arrays)


def _labels_beyond_9(path, archive):
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["train_labels"][0] = 200
    np.savez(path, **arrays)


def _flipped_pixel_bytes(path, archive):
    """Damage inside the stored images, caught by the zip's CRC."""
    blob = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("train_images.npy")
    blob[info.header_offset + 200 + 30] ^= 0xFF
    path.write_bytes(bytes(blob))


BAD_CACHES = {
    "left by an older format": (_older_format, "another format"),
    "half written": (_half_written, "damaged or half written"),
    "not a zip": (_not_a_zip, "damaged or half written"),
    "arrays not as recorded": (_arrays_not_as_recorded, "not what its record says"),
    "labels beyond 9": (_labels_beyond_9, "not what its record says"),
    "flipped pixel bytes": (_flipped_pixel_bytes, "damaged or half written"),
}


@pytest.mark.parametrize("case", BAD_CACHES, ids=list(BAD_CACHES))
def test_bad_cache_is_rebuilt_not_trusted(data_dir, archive, case, capsys):
    load(archive.path, data_dir, accept_sha256=archive.sha256)
    spoil, note = BAD_CACHES[case]
    spoil(cache_file(data_dir), archive)
    capsys.readouterr()

    result = load(archive.path, data_dir, accept_sha256=archive.sha256)

    assert_loaded(result, archive)
    err = capsys.readouterr().err
    assert note in err and "It will be rebuilt" in err
    assert cache_came_from(data_dir, archive)
    assert set(os.listdir(data_dir / "cache")) == {CACHE_NAME, LOCK_NAME}


def test_cache_of_one_archive_is_not_used_for_another(data_dir, archive, other_archive):
    accept = f"{archive.sha256},{other_archive.sha256}"
    load(archive.path, data_dir, accept_sha256=accept)

    assert_loaded(
        load(other_archive.path, data_dir, accept_sha256=accept), other_archive
    )
    assert cache_came_from(data_dir, other_archive)
    assert_loaded(load(archive.path, data_dir, accept_sha256=accept), archive)


def test_cache_from_an_archive_no_longer_accepted_is_not_trusted(
    data_dir, archive, other_archive, capsys
):
    load(archive.path, data_dir, accept_sha256=archive.sha256)
    capsys.readouterr()

    with pytest.raises(CIFAR10Error) as info:
        load_cifar10(data_dir=data_dir, download=False, verbose=False)

    assert_one_paragraph(str(info.value))
    err = capsys.readouterr().err
    assert archive.sha256 in err and "CIFAR10_ACCEPT_SHA256" in err
    # An archive that is accepted now replaces it.
    dropped = Archive(data_dir / "cifar-10-python.tar.gz", other_archive.contents)
    other_archive.path.rename(dropped.path)
    result = load_cifar10(
        data_dir=data_dir, accept_sha256=dropped.sha256, download=False
    )
    assert_loaded(result, dropped)
    assert cache_came_from(data_dir, dropped)


def test_explicit_archive_that_changed_after_caching_is_reimported(data_dir, tmp_path):
    # Two archives of exactly the same size (uncompressed gzip, same layout).
    archive, other_archive = (
        make_archive(
            tmp_path / name / "cifar-10-python.tar.gz", seed=seed, compresslevel=0
        )
        for name, seed in (("in", 1), ("other", 2))
    )
    assert archive.path.stat().st_size == other_archive.path.stat().st_size
    accept = f"{archive.sha256} {other_archive.sha256}"
    load(archive.path, data_dir, accept_sha256=accept)
    before = archive.path.stat()
    # Replace the file's bytes in place, keeping its size and modification time.
    archive.path.write_bytes(other_archive.path.read_bytes())
    os.utime(archive.path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert archive.path.stat().st_mtime_ns == before.st_mtime_ns

    result = load(archive.path, data_dir, accept_sha256=accept)

    assert_loaded(result, other_archive)
    assert cache_came_from(data_dir, other_archive)


def test_touched_but_unchanged_archive_still_loads_from_the_cache(
    data_dir, archive, capsys
):
    load(archive.path, data_dir, accept_sha256=archive.sha256)
    os.utime(archive.path, (time.time() + 60, time.time() + 60))
    capsys.readouterr()

    result = load(archive.path, data_dir, accept_sha256=archive.sha256, verbose=True)

    assert "loaded from the cache" in capsys.readouterr().out
    assert_loaded(result, archive)


def test_leftovers_of_a_killed_import_are_removed_and_a_users_file_is_not(
    data_dir, archive
):
    (data_dir / "cache").mkdir(parents=True)
    (data_dir / "downloads").mkdir()
    leftover = data_dir / "cache" / ".cifar10-killed.tmp"
    leftover.write_bytes(b"half of a cache")
    # downloads/ may hold the user's own files: nothing there is deleted
    partial = data_dir / "downloads" / "tmp-notes.txt"
    partial.write_bytes(b"not the loader's")
    users = data_dir / "cache" / "my-notes.txt"
    users.write_text("mine")

    assert_loaded(load(archive.path, data_dir, accept_sha256=archive.sha256), archive)

    assert not leftover.exists()
    assert partial.read_bytes() == b"not the loader's"
    assert users.read_text() == "mine"


# --------------------------------------------------------------------------
# Writing the cache fails


def _savez_that_fails(failure):
    real = np.savez

    def savez(file, **arrays):
        file.write(b"PK\x03\x04 the first bytes of a cache")
        raise failure

    savez.real = real
    return savez


def test_full_disk_while_writing_the_cache_still_returns_the_data(
    data_dir, archive, capsys, monkeypatch, tmp_path
):
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(data.np, "savez", _savez_that_fails(full))

    result = load(archive.path, data_dir, accept_sha256=archive.sha256)

    assert_loaded(result, archive)
    note = capsys.readouterr().err
    assert "not enough free disk space" in note and "The data is loaded" in note
    assert "No partial file was left behind" in note
    assert_no_cache_left(data_dir)
    assert sha256(archive.path) == archive.sha256
    monkeypatch.setattr(data.np, "savez", data.np.savez.real)
    assert_later_good_load_works(data_dir, tmp_path)


def test_interrupt_while_writing_the_cache_leaves_no_cache(
    data_dir, archive, monkeypatch
):
    monkeypatch.setattr(data.np, "savez", _savez_that_fails(KeyboardInterrupt()))

    with pytest.raises(KeyboardInterrupt):
        load(archive.path, data_dir, accept_sha256=archive.sha256)

    assert_no_cache_left(data_dir)
    monkeypatch.setattr(data.np, "savez", data.np.savez.real)
    assert_loaded(load(archive.path, data_dir, accept_sha256=archive.sha256), archive)
    assert cache_came_from(data_dir, archive)


def _limit_file_size():
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, 64 << 10))


def test_cache_too_large_for_the_file_size_limit_still_returns_the_data(
    data_dir, tmp_path
):
    # A real failure of the write: the kernel refuses to grow a file past the
    # limit (EFBIG), here halfway through the ~1 MB cache.
    archive = make_archive(tmp_path / "big" / "cifar-10-python.tar.gz", n=60)
    kwargs = {
        "archive": str(archive.path),
        "accept_sha256": archive.sha256,
        "data_dir": str(data_dir),
    }

    result, _, err = loader_result(start_loader(kwargs, preexec_fn=_limit_file_size))

    assert result.get("sha256") == array_digests(archive.expected), result
    assert "could not be written" in err and "The data is loaded" in err
    assert_no_cache_left(data_dir)


# --------------------------------------------------------------------------
# A read-only data folder


def _read_only(*folders):
    for folder in folders:
        folder.chmod(0o555)


def _assert_really_read_only(folder):
    """Control: the folder refuses writes from a process started the same way."""
    probe = subprocess.run(
        [sys.executable, "-c", f"open({str(folder / 'probe')!r}, 'w')"],
        check=False,
        capture_output=True,
        text=True,
        **as_user_bound_by_permissions(),
    )
    assert probe.returncode != 0 and "PermissionError" in probe.stderr


def _load_bound_by_permissions(kwargs, *folders):
    """Load in a process bound by file permissions; then open folders again."""
    try:
        return loader_result(start_loader(kwargs, **as_user_bound_by_permissions()))
    finally:
        for folder in folders:
            folder.chmod(0o755)


def test_read_only_data_folder_still_returns_the_data(data_dir, archive):
    data_dir.mkdir()
    _read_only(data_dir)
    _assert_really_read_only(data_dir)
    kwargs = {
        "archive": str(archive.path),
        "accept_sha256": archive.sha256,
        "data_dir": str(data_dir),
    }
    result, out, _ = _load_bound_by_permissions(kwargs, data_dir)

    assert result.get("sha256") == array_digests(archive.expected), result
    assert "not cached" in out and "is not writable" in out
    assert list(data_dir.iterdir()) == []


def test_read_only_data_folder_with_a_cache_loads_from_it(data_dir, archive):
    load(archive.path, data_dir, accept_sha256=archive.sha256)
    before = files_under(data_dir)
    _read_only(data_dir / "cache", data_dir)
    _assert_really_read_only(data_dir / "cache")
    kwargs = {"accept_sha256": archive.sha256, "data_dir": str(data_dir)}
    result, out, _ = _load_bound_by_permissions(kwargs, data_dir / "cache", data_dir)

    assert result.get("sha256") == array_digests(archive.expected), result
    assert "loaded from the cache" in out
    assert files_under(data_dir) == before


def test_read_only_data_folder_without_data_says_where_to_write(data_dir):
    data_dir.mkdir()
    _read_only(data_dir)
    result, _, _ = _load_bound_by_permissions({"data_dir": str(data_dir)}, data_dir)

    message = result.get("error", "")
    assert_one_paragraph(message)
    assert "cannot be downloaded into" in message and "CNN_LESSON_DATA_DIR" in message
    assert list(data_dir.iterdir()) == []


# --------------------------------------------------------------------------
# Two processes at once


def test_two_processes_loading_for_the_first_time_both_get_the_data(data_dir, tmp_path):
    archive = make_archive(tmp_path / "in" / "cifar-10-python.tar.gz", n=400)
    go = tmp_path / "go"
    processes = []
    for i in range(2):
        kwargs = {
            "archive": str(archive.path),
            "accept_sha256": archive.sha256,
            "data_dir": str(data_dir),
            "_ready": str(tmp_path / f"ready-{i}"),
            "_go": str(go),
        }
        processes.append(start_loader(kwargs))
    deadline = time.monotonic() + 30
    while not all((tmp_path / f"ready-{i}").exists() for i in range(2)):
        assert time.monotonic() < deadline, "the loaders did not start"
        time.sleep(0.005)
    go.touch()

    outcomes = [loader_result(p) for p in processes]

    want = array_digests(archive.expected)
    assert [r.get("sha256") for r, _, _ in outcomes] == [want, want]
    said = sorted(
        "imported" if "imported" in out else "cache" for _, out, _ in outcomes
    )
    assert said == ["cache", "imported"]
    assert cache_came_from(data_dir, archive)
    assert set(os.listdir(data_dir / "cache")) == {CACHE_NAME, LOCK_NAME}


def test_archive_behind_a_folder_without_permission_is_a_clear_error(
    data_dir, archive, tmp_path
):
    locked = tmp_path / "locked"
    locked.mkdir()
    hidden = locked / "cifar-10-python.tar.gz"
    hidden.write_bytes(archive.path.read_bytes())
    locked.chmod(0o600)  # no search permission: is_file() raises, as root does not
    kwargs = {
        "archive": str(hidden),
        "accept_sha256": archive.sha256,
        "data_dir": str(data_dir),
    }
    result, _, _ = _load_bound_by_permissions(kwargs, locked)

    assert "permission denied" in result.get("error", ""), result
    assert sha256(hidden) == archive.sha256


def test_cache_folder_without_permission_still_returns_the_data(data_dir, archive):
    load(archive.path, data_dir, accept_sha256=archive.sha256)
    (data_dir / "cache").chmod(0o644)  # the classic chmod -R 644 mistake
    kwargs = {
        "archive": str(archive.path),
        "accept_sha256": archive.sha256,
        "data_dir": str(data_dir),
    }
    result, _, _ = _load_bound_by_permissions(kwargs, data_dir / "cache")

    assert result.get("sha256") == array_digests(archive.expected), result
