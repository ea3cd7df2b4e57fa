"""load_cifar10 imports a local archive: what it accepts, refuses and never does."""

import gzip
import os
import pickle
import shlex
import tarfile
import time

import numpy as np
import pytest
from archives import (
    META,
    Archive,
    assert_later_good_load_works,
    assert_loaded,
    assert_no_cache_left,
    assert_one_paragraph,
    cifar_contents,
    files_under,
    isolate,
    make_archive,
    member_info,
    meta_dict,
    python2_style_pickle,
    sha256,
    write_archive,
)

from cnn_lesson import data
from cnn_lesson.data import CIFAR10Error, load_cifar10


@pytest.fixture(autouse=True)
def data_dir(monkeypatch, tmp_path):
    return isolate(monkeypatch, tmp_path)


def load(archive, data_dir, **kwargs):
    kwargs.setdefault("accept_sha256", sha256(archive))
    kwargs.setdefault("verbose", False)
    return load_cifar10(archive, data_dir=data_dir, **kwargs)


# --------------------------------------------------------------------------
# The right layout


def test_archive_in_official_layout_loads_as_keras_arrays(data_dir, tmp_path):
    archive = make_archive(tmp_path / "in" / "cifar-10-python.tar.gz", n=5)

    result = load(archive.path, data_dir)

    assert_loaded(result, archive)
    (train_images, train_labels), (test_images, _) = result
    assert train_images.shape == (25, 32, 32, 3) and test_images.shape == (5, 32, 32, 3)
    # Pixel (row 3, column 7) of the first test image, green channel: plane 1.
    assert (
        test_images[0, 3, 7, 1]
        == archive.contents["test_batch"][b"data"][0, 1024 + 3 * 32 + 7]
    )
    for array in (train_images, train_labels, test_images):
        assert array.flags.c_contiguous and array.flags.writeable
    assert (data_dir / "cache" / data.CACHE_NAME).is_file()


def test_second_load_comes_from_the_cache_and_is_fast(data_dir, tmp_path, capsys):
    archive = make_archive(tmp_path / "in" / "cifar-10-python.tar.gz", n=50)
    load(archive.path, data_dir)
    capsys.readouterr()

    start = time.perf_counter()
    result = load(archive.path, data_dir, verbose=True)
    seconds = time.perf_counter() - start

    assert "loaded from the cache" in capsys.readouterr().out
    assert seconds < 0.5
    assert_loaded(result, archive)
    (train_images, _), _ = result
    assert train_images.flags.writeable
    # The cache alone holds the data: with the archive gone it still loads.
    accept = archive.sha256
    archive.path.unlink()
    assert_loaded(
        load_cifar10(data_dir=data_dir, accept_sha256=accept, download=False), archive
    )


def test_official_checksum_is_trusted_without_opt_in(data_dir, tmp_path, monkeypatch):
    archive = make_archive(tmp_path / "in" / "cifar-10-python.tar.gz")
    # Stand-in for the official archive, which is too big for a test.
    monkeypatch.setattr(data, "OFFICIAL_SHA256", archive.sha256)

    result = load_cifar10(archive.path, data_dir=data_dir, verbose=False)

    assert_loaded(result, archive)


@pytest.mark.parametrize("opt_in", [None, "ab" * 32])
def test_other_checksum_is_refused_naming_both_checksums_and_the_opt_in(
    data_dir, tmp_path, opt_in
):
    archive = make_archive(tmp_path / "in" / "cifar-10-python.tar.gz")
    before = archive.sha256

    with pytest.raises(CIFAR10Error) as info:
        load_cifar10(archive.path, accept_sha256=opt_in, data_dir=data_dir)

    message = str(info.value)
    assert_one_paragraph(message)
    assert before in message and data.OFFICIAL_SHA256 in message
    assert f'accept_sha256="{before}"' in message
    assert f"CIFAR10_ACCEPT_SHA256={before}" in message
    assert "has not been changed" in message
    assert archive.sha256 == before
    assert_no_cache_left(data_dir)
    assert_later_good_load_works(data_dir, tmp_path)


def test_refusal_of_an_empty_file_says_it_is_empty(data_dir, tmp_path):
    empty = tmp_path / "in" / "cifar-10-python.tar.gz"
    empty.parent.mkdir()
    empty.write_bytes(b"")

    with pytest.raises(CIFAR10Error, match="The file is empty"):
        load_cifar10(empty, data_dir=data_dir)
    assert empty.read_bytes() == b""


def test_environment_variables_name_archive_opt_in_and_data_folder(
    tmp_path, monkeypatch
):
    archive = make_archive(tmp_path / "in" / "cifar-10-python.tar.gz")
    monkeypatch.setenv("CIFAR10_ARCHIVE", str(archive.path))
    monkeypatch.setenv("CIFAR10_ACCEPT_SHA256", archive.sha256)

    result = load_cifar10(verbose=False)

    assert_loaded(result, archive)
    assert (tmp_path / "default-data" / "cache" / data.CACHE_NAME).is_file()


def test_opt_in_may_carry_a_prefix_and_capitals(data_dir, tmp_path):
    archive = make_archive(tmp_path / "in" / "cifar-10-python.tar.gz")

    result = load(
        archive.path, data_dir, accept_sha256=f"SHA256:{archive.sha256.upper()}"
    )

    assert_loaded(result, archive)


def test_opt_in_that_is_no_checksum_is_reported(data_dir, tmp_path, monkeypatch):
    archive = make_archive(tmp_path / "in" / "cifar-10-python.tar.gz")
    monkeypatch.setenv("CIFAR10_ACCEPT_SHA256", "yes-please")

    with pytest.raises(CIFAR10Error) as info:
        load_cifar10(archive.path, data_dir=data_dir)

    assert_one_paragraph(str(info.value))
    assert "'yes-please'" in str(info.value) and "CIFAR10_ACCEPT_SHA256" in str(
        info.value
    )


def test_archive_dropped_into_the_data_folder_is_found(data_dir, tmp_path):
    archive = make_archive(data_dir / "cifar-10-python.tar.gz")

    result = load_cifar10(
        data_dir=data_dir, accept_sha256=archive.sha256, download=False
    )

    assert_loaded(result, archive)


def test_archive_that_keras_left_in_its_folder_is_found(data_dir, tmp_path):
    keras_copy = (
        tmp_path / "home" / ".keras" / "datasets" / "cifar-10-batches-py-target_archive"
    )
    archive = make_archive(keras_copy)

    result = load_cifar10(
        data_dir=data_dir, accept_sha256=archive.sha256, download=False
    )

    assert_loaded(result, archive)


def test_no_archive_and_no_download_is_reported(data_dir):
    with pytest.raises(CIFAR10Error) as info:
        load_cifar10(data_dir=data_dir, download=False)

    message = str(info.value)
    assert_one_paragraph(message)
    assert "downloading is switched off" in message and "CIFAR10_ARCHIVE" in message


@pytest.mark.parametrize("what", ["missing", "folder"])
def test_explicit_archive_that_is_not_a_file_is_reported(data_dir, tmp_path, what):
    path = tmp_path / "nowhere" / "cifar-10-python.tar.gz"
    if what == "folder":
        path.mkdir(parents=True)

    with pytest.raises(CIFAR10Error) as info:
        load_cifar10(path, data_dir=data_dir)

    message = str(info.value)
    assert_one_paragraph(message)
    assert str(path) in message and "CIFAR10_ARCHIVE" in message
    assert ("does not exist" if what == "missing" else "is a folder") in message
    assert not data_dir.exists()


# --------------------------------------------------------------------------
# Archives that are damaged or not what they claim


def _truncated(path):
    make_archive(path, n=30)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])


def _changed(member, key, value):
    def build(path):
        contents = cifar_contents()
        if key is None:
            contents[member] = value
        elif value is None:
            del contents[member][key]
        else:
            contents[member][key] = value
        write_archive(path, contents)

    return build


def _without(member):
    def build(path):
        contents = cifar_contents()
        del contents[member]
        write_archive(path, contents)

    return build


def _with_extra(info, blob=None, drop=None):
    def build(path):
        contents = cifar_contents()
        if drop:
            del contents[drop]
        write_archive(path, contents, extra=[(info, blob)])

    return build


PIXELS = np.zeros((4, 3072), np.uint8)
BAD_ARCHIVES = {
    "truncated": (_truncated, "it ends early"),
    "zero bytes": (lambda p: p.write_bytes(b""), "it is empty (0 bytes)"),
    "not gzip (an HTML error page)": (
        lambda p: p.write_bytes(b"<html><body>404 Not Found</body></html>\n"),
        "it is not gzip-compressed",
    ),
    "uncompressed tar": (
        lambda p: write_archive(p, cifar_contents(), compress=False),
        "uncompressed tar archive",
    ),
    "gzip that is not tar": (
        lambda p: p.write_bytes(gzip.compress(b"not a tar archive at all\n" * 40)),
        "what it holds is not a tar archive",
    ),
    "missing batch": (
        _without("data_batch_3"),
        "lacks cifar-10-batches-py/data_batch_3",
    ),
    "missing meta": (_without(META), "lacks cifar-10-batches-py/batches.meta"),
    "batches in another folder": (
        lambda p: write_archive(p, cifar_contents(), folder="cifar-10-batches"),
        "lacks cifar-10-batches-py/",
    ),
    "data of shape (n, 3071)": (
        _changed("data_batch_2", b"data", PIXELS[:, :3071].copy()),
        "has shape (4, 3071), not (n, 3072)",
    ),
    "data of shape (n, 32, 32, 3)": (
        _changed("data_batch_2", b"data", PIXELS.reshape(4, 32, 32, 3)),
        "has shape (4, 32, 32, 3), not (n, 3072)",
    ),
    "data as float32": (
        _changed("test_batch", b"data", PIXELS.astype(np.float32)),
        "not float32",
    ),
    "data as a list": (
        _changed("test_batch", b"data", [[0] * 3072] * 4),
        "not list",
    ),
    "no labels": (_changed("data_batch_5", b"labels", None), "no 'data' and 'labels'"),
    "label 10": (
        _changed("data_batch_1", b"labels", [0, 1, 10, 2]),
        "outside the class numbers 0..9",
    ),
    "label -1": (
        _changed("test_batch", b"labels", [0, -1, 3, 2]),
        "outside the class numbers 0..9",
    ),
    "fractional labels": (
        _changed("test_batch", b"labels", [0.5, 1, 2, 3]),
        "not whole numbers",
    ),
    "too few labels": (
        _changed("data_batch_4", b"labels", [1, 2, 3]),
        "flat list of 4 class numbers",
    ),
    "a batch that is a list": (
        _changed("data_batch_1", None, [1, 2, 3]),
        "no 'data' and 'labels'",
    ),
    "a batch that is no pickle": (
        _changed("data_batch_1", None, b"\x00\x01 definitely not a pickle"),
        "data_batch_1 could not be read",
    ),
    "meta naming CIFAR-100-like classes": (
        _changed(META, None, meta_dict([f"class_{i}" for i in range(10)])),
        "names the classes ['class_0'",
    ),
    "meta with classes in another order": (
        _changed(META, None, meta_dict(sorted(data.CLASS_NAMES, reverse=True))),
        "not CIFAR-10's",
    ),
    "meta without label names": (
        _changed(META, None, {b"num_vis": 3072}),
        "no list of label names",
    ),
    "member with an absolute path": (
        _with_extra(member_info("/tmp/cifar-escaped", 5), b"oops\n"),
        "unsafe path ('/tmp/cifar-escaped')",
    ),
    "member with '..'": (
        _with_extra(member_info("cifar-10-batches-py/../../escaped", 5), b"oops\n"),
        "unsafe path",
    ),
    "symlink member": (
        _with_extra(
            member_info(
                "cifar-10-batches-py/extra",
                type=tarfile.SYMTYPE,
                linkname="/etc/passwd",
            )
        ),
        "link member",
    ),
    "batch that is a symlink": (
        _with_extra(
            member_info(
                "cifar-10-batches-py/data_batch_1",
                type=tarfile.SYMTYPE,
                linkname="/etc/passwd",
            ),
            drop="data_batch_1",
        ),
        "link member ('cifar-10-batches-py/data_batch_1' -> '/etc/passwd')",
    ),
    "hardlink member": (
        _with_extra(
            member_info(
                "cifar-10-batches-py/data_batch_1",
                type=tarfile.LNKTYPE,
                linkname="cifar-10-batches-py/test_batch",
            ),
            drop="data_batch_1",
        ),
        "link member",
    ),
    "fifo member": (
        _with_extra(member_info("cifar-10-batches-py/pipe", type=tarfile.FIFOTYPE)),
        "special-file member",
    ),
    "device member": (
        _with_extra(
            member_info(
                "cifar-10-batches-py/null", type=tarfile.CHRTYPE, devmajor=1, devminor=3
            )
        ),
        "special-file member",
    ),
    "batch stored twice": (
        _with_extra(member_info("cifar-10-batches-py/test_batch", 3), b"abc"),
        "it holds test_batch twice",
    ),
}


@pytest.mark.parametrize("case", BAD_ARCHIVES, ids=list(BAD_ARCHIVES))
def test_bad_archive_is_refused_clearly_and_leaves_everything_as_it_was(
    data_dir, tmp_path, case
):
    build, says = BAD_ARCHIVES[case]
    path = tmp_path / "in" / "cifar-10-python.tar.gz"
    path.parent.mkdir()
    build(path)
    before = sha256(path)

    with pytest.raises(CIFAR10Error) as info:
        load(path, data_dir)

    message = str(info.value)
    assert_one_paragraph(message)
    assert says in message
    assert str(path) in message and "has not been changed" in message
    assert "CIFAR10_ARCHIVE" in message  # what to do
    assert sha256(path) == before
    assert not (tmp_path / "escaped").exists() and not os.path.exists(
        "/tmp/cifar-escaped"
    )
    assert_no_cache_left(data_dir)
    assert_later_good_load_works(data_dir, tmp_path)


def test_member_far_larger_than_a_batch_is_refused_unread(
    data_dir, tmp_path, monkeypatch
):
    archive = make_archive(tmp_path / "in" / "cifar-10-python.tar.gz", n=100)
    # Batches here are ~300 kB: a 100 kB limit stands for the real 64 MiB one.
    monkeypatch.setattr(data, "MAX_MEMBER_BYTES", 100_000)

    before = archive.sha256
    with pytest.raises(CIFAR10Error, match="far more than a CIFAR-10 batch"):
        load(archive.path, data_dir)
    assert archive.sha256 == before
    assert_no_cache_left(data_dir)


# --------------------------------------------------------------------------
# Pickles: what the archive's members may build


class RunsPython:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').write('ran')",)


class OpensFile:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


class RunsShell:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(self.marker)}",)


class SavesWithNumpy:
    """Asks for numpy.save: numpy is allowed only for the names a batch needs."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return np.save, (self.marker, np.zeros(1))


PAYLOADS = [RunsPython, OpensFile, RunsShell, SavesWithNumpy]


def _place(contents, where, payload):
    if where == "whole batch":
        contents["data_batch_1"] = payload
    elif where == "batch data":
        contents["test_batch"][b"data"] = payload
    elif where == "inside a list of file names":
        contents["data_batch_4"][b"filenames"][2] = payload
    elif where == "meta":
        contents[META][b"label_names"] = payload


@pytest.mark.parametrize(
    "where", ["whole batch", "batch data", "inside a list of file names", "meta"]
)
@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.__name__)
def test_pickle_that_would_run_code_is_refused_without_running_it(
    data_dir, tmp_path, payload, where
):
    # Control: unpickled by plain pickle, the payload does leave its marker.
    control = tmp_path / "control.npy"
    pickle.loads(pickle.dumps(payload(control)))
    assert control.exists()

    marker = tmp_path / "marker.npy"
    contents = cifar_contents()
    _place(contents, where, payload(marker))
    path = write_archive(tmp_path / "in" / "cifar-10-python.tar.gz", contents)
    before = sha256(path)

    with pytest.raises(CIFAR10Error) as info:
        load(path, data_dir)

    message = str(info.value)
    assert_one_paragraph(message)
    assert "never needs" in message and "nothing in it was run" in message
    assert not marker.exists()
    assert sha256(path) == before
    assert_no_cache_left(data_dir)
    assert_later_good_load_works(data_dir, tmp_path)


def test_python2_pickles_as_in_the_official_archive_load(data_dir, tmp_path):
    contents = cifar_contents(seed=3)
    blob = python2_style_pickle(contents["test_batch"])
    # What the official archive's pickles hold: Python 2 strings, numpy.core.
    assert b"cnumpy.core.multiarray\n_reconstruct\n" in blob
    assert b"_codecs" not in blob and pickle.SHORT_BINSTRING + b"\x04data" in blob
    path = write_archive(
        tmp_path / "in" / "cifar-10-python.tar.gz", contents, protocol="python2"
    )

    result = load(path, data_dir)

    assert_loaded(result, Archive(path, contents))


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_archive_pickled_with_any_protocol_loads(data_dir, tmp_path, protocol):
    archive = make_archive(
        tmp_path / "in" / "cifar-10-python.tar.gz", protocol=protocol
    )

    assert_loaded(load(archive.path, data_dir), archive)


# --------------------------------------------------------------------------
# Nothing is extracted


def test_parsing_never_extracts_to_disk(data_dir, tmp_path):
    contents = cifar_contents()
    contents["readme.html"] = b"<p>extra member, never read</p>"
    path = write_archive(tmp_path / "in" / "cifar-10-python.tar.gz", contents)
    before = files_under(tmp_path)

    load(path, data_dir)

    after = files_under(tmp_path)
    new = sorted(set(after) - set(before))
    assert new == ["data/cache/.lock", "data/cache/cifar10.npz"]
    assert {k: after[k] for k in before} == before  # nothing changed either
    assert list((tmp_path / "tmp").iterdir()) == []
    assert list((tmp_path / "cwd").iterdir()) == []


# --------------------------------------------------------------------------
# Archives built to exhaust memory


class AllocatesArray:
    """Pickles as a direct call of numpy.ndarray(shape), which allocates."""

    def __init__(self, rows):
        self.rows = rows

    def __reduce__(self):
        return (np.ndarray, ((self.rows, 3072), np.dtype("u1")))


def test_pickle_that_calls_ndarray_to_allocate_memory_is_refused(data_dir, tmp_path):
    contents = cifar_contents(seed=3)
    contents["test_batch"] = {
        b"data": AllocatesArray(150_000),
        b"labels": [0] * 150_000,
        b"batch_label": b"testing batch 1 of 1",
    }
    path = write_archive(tmp_path / "in" / "cifar-10-python.tar.gz", contents)

    with pytest.raises(CIFAR10Error, match="never do"):
        load(path, data_dir)
    assert_no_cache_left(data_dir)


def test_batch_with_more_images_than_a_cifar_batch_is_refused(
    data_dir, tmp_path, monkeypatch
):
    archive = make_archive(tmp_path / "in" / "cifar-10-python.tar.gz", n=6)
    monkeypatch.setattr(data, "MAX_BATCH_IMAGES", 5)  # stands for 10,000

    with pytest.raises(CIFAR10Error, match="a CIFAR-10 batch holds 5"):
        load(archive.path, data_dir)
    assert_no_cache_left(data_dir)


def test_archive_with_thousands_of_members_is_refused(data_dir, tmp_path):
    extra = [(member_info(f"junk/{i}", 0), b"") for i in range(data.MAX_MEMBERS + 1)]
    path = write_archive(
        tmp_path / "in" / "cifar-10-python.tar.gz", cifar_contents(), extra=extra
    )

    with pytest.raises(CIFAR10Error, match="the CIFAR-10 archive holds eight"):
        load(path, data_dir)
    assert_no_cache_left(data_dir)
