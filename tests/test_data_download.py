"""load_cifar10 downloads the archive: from a loopback server started here.

Every address is 127.0.0.1 or a name under .invalid, which never resolves;
no test sends anything beyond this machine.
"""

import http.server
import signal
import socket
import threading

import pytest
from archives import (
    assert_loaded,
    assert_no_cache_left,
    assert_one_paragraph,
    files_under,
    isolate,
    make_archive,
    sha256,
)

from cnn_lesson import data
from cnn_lesson.data import CIFAR10Error, CIFAR10Interrupted, load_cifar10

PATH = "/cifar-10-python.tar.gz"


class Server:
    """A loopback HTTP server; routes maps a path to (behaviour, body)."""

    def __init__(self):
        self.routes = {}
        self.requests = []
        self.half_sent = threading.Event()
        self.release = threading.Event()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def url(self, path=PATH, scheme="http"):
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def serve(self, body, behaviour="full", path=PATH):
        self.routes[path] = (behaviour, body)

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self):
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                behaviour, body = server.routes.get(self.path, ("status", 404))
                if behaviour == "status":
                    self.send_error(body)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/x-gzip")
                if behaviour != "no length":
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if behaviour == "full":
                    self.wfile.write(body)
                    return
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                if behaviour == "half, then stall":
                    server.half_sent.set()
                    server.release.wait(10)
                # "half, then close" and "no length": the connection closes now.

            def log_message(self, *args):
                pass

        return Handler


@pytest.fixture(autouse=True)
def data_dir(monkeypatch, tmp_path):
    return isolate(monkeypatch, tmp_path)


@pytest.fixture
def server():
    server = Server()
    yield server
    server.close()


@pytest.fixture
def archive(tmp_path):
    return make_archive(tmp_path / "served" / "cifar-10-python.tar.gz", seed=5)


def download(data_dir, accept, **kwargs):
    kwargs.setdefault("verbose", False)
    return load_cifar10(data_dir=data_dir, accept_sha256=accept, **kwargs)


def assert_next_attempt_works(server, archive, data_dir):
    server.serve(archive.path.read_bytes())
    assert_loaded(download(data_dir, archive.sha256), archive)
    assert sha256(data_dir / "downloads" / data.ARCHIVE_NAME) == archive.sha256


def assert_says_how_to_import(message):
    assert_one_paragraph(message)
    assert "CIFAR10_ARCHIVE" in message and "data/" in message


def test_download_from_a_mirror_loads_with_progress(
    data_dir, server, archive, monkeypatch, capfd
):
    server.serve(archive.path.read_bytes())
    monkeypatch.setenv("CIFAR10_URL", server.url())
    # Two accepted checksums; the served archive has the second.
    accept = f"{'0' * 64},{archive.sha256}"

    result = download(data_dir, accept, verbose=True)

    assert_loaded(result, archive)
    out, err = capfd.readouterr()
    assert f"from {server.url()}" in out
    assert f"from {server.url()!r}" in err and "100%" in err  # pooch progress
    assert files_under(data_dir / "downloads") == {data.ARCHIVE_NAME: archive.sha256}
    # Later loads need no network: from the cache, then from the download.
    assert_loaded(download(data_dir, accept), archive)
    (data_dir / "cache" / data.CACHE_NAME).unlink()
    assert_loaded(download(data_dir, accept), archive)
    assert server.requests == [PATH]


@pytest.mark.parametrize("status", [404, 500])
def test_server_error_is_reported_and_keeps_nothing(
    data_dir, server, archive, monkeypatch, status
):
    server.serve(status, "status")
    monkeypatch.setenv("CIFAR10_URL", server.url())

    with pytest.raises(CIFAR10Error) as info:
        download(data_dir, archive.sha256)

    message = str(info.value)
    assert_says_how_to_import(message)
    assert f"HTTP {status}" in message and server.url() in message
    assert_no_cache_left(data_dir)
    assert_next_attempt_works(server, archive, data_dir)


def test_refused_connection_is_reported(data_dir, server, archive, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("CIFAR10_URL", f"http://127.0.0.1:{port}{PATH}")

    with pytest.raises(CIFAR10Error) as info:
        download(data_dir, None)

    assert_says_how_to_import(str(info.value))
    assert "refused the connection" in str(info.value)
    assert_no_cache_left(data_dir)
    monkeypatch.setenv("CIFAR10_URL", server.url())
    assert_next_attempt_works(server, archive, data_dir)


def test_unresolvable_server_name_is_reported(data_dir, server, archive, monkeypatch):
    monkeypatch.setenv("CIFAR10_URL", f"http://cifar.invalid{PATH}")

    with pytest.raises(CIFAR10Error) as info:
        download(data_dir, None)

    assert_says_how_to_import(str(info.value))
    assert "could not be resolved" in str(info.value)
    assert_no_cache_left(data_dir)
    monkeypatch.setenv("CIFAR10_URL", server.url())
    assert_next_attempt_works(server, archive, data_dir)


def test_tls_failure_is_reported(data_dir, server, archive, monkeypatch):
    server.serve(archive.path.read_bytes())
    # https to a server that speaks plain HTTP: the TLS handshake fails.
    monkeypatch.setenv("CIFAR10_URL", server.url(scheme="https"))

    with pytest.raises(CIFAR10Error) as info:
        download(data_dir, archive.sha256)

    assert_says_how_to_import(str(info.value))
    assert "secure (TLS) connection" in str(info.value)
    assert_no_cache_left(data_dir)
    monkeypatch.setenv("CIFAR10_URL", server.url())
    assert_next_attempt_works(server, archive, data_dir)


def test_download_broken_off_half_way_keeps_nothing_and_next_attempt_works(
    data_dir, server, archive, monkeypatch
):
    server.serve(archive.path.read_bytes(), "half, then close")
    monkeypatch.setenv("CIFAR10_URL", server.url())

    with pytest.raises(CIFAR10Error) as info:
        download(data_dir, archive.sha256)

    message = str(info.value)
    assert_says_how_to_import(message)
    assert "broke off" in message and "partial file was removed" in message
    assert_no_cache_left(data_dir)
    assert_next_attempt_works(server, archive, data_dir)


def test_half_download_without_a_length_is_caught_by_its_checksum(
    data_dir, server, archive, monkeypatch
):
    server.serve(archive.path.read_bytes(), "no length")
    monkeypatch.setenv("CIFAR10_URL", server.url())

    with pytest.raises(CIFAR10Error) as info:
        download(data_dir, archive.sha256)

    assert_says_how_to_import(str(info.value))
    assert "discarded" in str(info.value)
    assert_no_cache_left(data_dir)
    assert_next_attempt_works(server, archive, data_dir)


def test_interrupt_during_download_keeps_nothing_and_next_attempt_works(
    data_dir, server, archive, monkeypatch
):
    server.serve(archive.path.read_bytes(), "half, then stall")
    monkeypatch.setenv("CIFAR10_URL", server.url())
    main = threading.main_thread().ident

    def press_ctrl_c():
        if server.half_sent.wait(10):
            signal.pthread_kill(main, signal.SIGINT)

    threading.Thread(target=press_ctrl_c, daemon=True).start()
    with pytest.raises(CIFAR10Interrupted) as info:
        download(data_dir, archive.sha256)
    server.release.set()

    assert isinstance(info.value, KeyboardInterrupt)
    message = str(info.value)
    assert_says_how_to_import(message)
    assert "interrupted" in message and "nothing was kept" in message
    assert_no_cache_left(data_dir)
    assert_next_attempt_works(server, archive, data_dir)


def test_download_with_the_wrong_checksum_is_discarded(
    data_dir, server, archive, tmp_path, monkeypatch
):
    impostor = make_archive(tmp_path / "impostor" / "cifar-10-python.tar.gz", seed=6)
    server.serve(impostor.path.read_bytes())
    monkeypatch.setenv("CIFAR10_URL", server.url())

    with pytest.raises(CIFAR10Error) as info:
        download(data_dir, archive.sha256)

    message = str(info.value)
    assert_says_how_to_import(message)
    assert impostor.sha256 in message and data.OFFICIAL_SHA256 in message
    assert archive.sha256 in message and "discarded" in message
    assert_no_cache_left(data_dir)
    assert_next_attempt_works(server, archive, data_dir)


def test_server_that_stops_answering_times_out_and_keeps_nothing(
    data_dir, server, archive, monkeypatch
):
    server.serve(archive.path.read_bytes(), "half, then stall")
    monkeypatch.setenv("CIFAR10_URL", server.url())
    monkeypatch.setattr(data, "READ_TIMEOUT_S", 0.3)

    with pytest.raises(CIFAR10Error) as info:
        download(data_dir, archive.sha256)
    server.release.set()

    message = str(info.value)
    assert_says_how_to_import(message)
    assert "timed out" in message and "partial file was removed" in message
    assert_no_cache_left(data_dir)
    assert_next_attempt_works(server, archive, data_dir)
