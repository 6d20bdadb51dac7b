"""Network grants: off by default, an allow-list, secrets scrubbed."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

import cloche


class _Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        body = f"path={self.path} auth={self.headers.get('X-Token')}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[int]:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv.server_address[1]
    srv.shutdown()


FETCH = ("import urllib.request\n"
         "urllib.request.urlopen('http://127.0.0.1:{port}/hi').read().decode()")


def test_network_off_by_default(server: int) -> None:
    with cloche.Sandbox() as sb:
        r = sb.run_sync(FETCH.format(port=server))
        assert r.exception is not None


def test_allow_list_and_private_addresses(server: int) -> None:
    with cloche.Sandbox(network=cloche.Network(allow=[f"127.0.0.1:{server}"])) as sb:
        r = sb.run_sync(FETCH.format(port=server))
        assert r.exception is not None  # loopback refused unless private=True
    net = cloche.Network(allow=[f"127.0.0.1:{server}"], private=True)
    with cloche.Sandbox(network=net) as sb:
        assert sb.run_sync(FETCH.format(port=server)).value == "path=/hi auth=None"
        r = sb.run_sync(FETCH.format(port=server + 1 if server < 65535 else 1))
        assert r.exception is not None  # another port is not on the list


def test_secret_is_a_placeholder_and_scrubbed(server: int) -> None:
    value = "s3cr3t-value-0123456789"
    net = cloche.Network(allow=[f"127.0.0.1:{server}"], private=True,
                         secrets={"TOKEN": cloche.Secret(value, [f"127.0.0.1:{server}"])},
                         secrets_allow_plaintext=True)
    with cloche.Sandbox(network=net) as sb:
        r = sb.run_sync("import os\nos.environ['TOKEN']")
        placeholder = r.value
        assert isinstance(placeholder, str) and value not in placeholder
        code = ("import os, urllib.request\n"
                f"req = urllib.request.Request('http://127.0.0.1:{server}/x', "
                "headers={'X-Token': os.environ['TOKEN']})\n"
                "body = urllib.request.urlopen(req).read().decode()\nprint(body)\nbody")
        r = sb.run_sync(code)
        # The server saw the real value; the guest's outputs never do.
        assert r.value == f"path=/x auth={placeholder}"
        assert value not in r.stdout
        with pytest.raises(cloche.SecretInSnapshot):
            sb.run_sync(f"leak = {value!r}")
            sb.snapshot()
