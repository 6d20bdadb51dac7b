"""`cloche run` with network grants, against servers started here on
loopback: plain HTTP and HTTPS with a test CA made by the openssl command."""

import http.server
import json
import os
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLOCHE = os.environ.get("CLOCHE_BIN", str(ROOT / "build" / "cloche"))
VALUE = "sk-test-4f9a1c2e7b3d5a60"


def cloche(*args, env=None):
    return subprocess.run([CLOCHE, *args], capture_output=True, text=True,
                          timeout=120, env=env)


class EchoHeaders(http.server.BaseHTTPRequestHandler):
    """Answers every GET with the request's headers, as JSON, and reflects
    the Authorization header in a response header too. HTTP/1.1, so
    clients keep connections open and reuse them."""

    protocol_version = "HTTP/1.1"
    seen = []
    peers = []

    def do_GET(self):
        self.seen.append(dict(self.headers))
        self.peers.append(self.client_address)
        body = json.dumps(dict(self.headers)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Echo", self.headers.get("Authorization", ""))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve(tls_context=None):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), EchoHeaders)
    if tls_context is not None:
        server.socket = tls_context.wrap_socket(server.socket,
                                                server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True,
                   capture_output=True)


@pytest.fixture(scope="module")
def test_ca(tmp_path_factory):
    """A CA and a localhost certificate it signed."""
    d = tmp_path_factory.mktemp("ca")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
            "-out", "ca.pem", "-days", "2", "-subj", "/CN=cloche test CA",
            cwd=d)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr", "-subj",
            "/CN=localhost", cwd=d)
    (d / "ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey",
            "ca.key", "-CAcreateserial", "-out", "leaf.pem", "-days", "2",
            "-extfile", "ext", cwd=d)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(d / "leaf.pem", d / "leaf.key")
    return d / "ca.pem", ctx


@pytest.fixture
def http_server():
    server = serve()
    yield server.server_address[1]
    server.shutdown()


@pytest.fixture
def https_server(test_ca):
    server = serve(test_ca[1])
    EchoHeaders.seen.clear()
    EchoHeaders.peers.clear()
    yield server.server_address[1]
    server.shutdown()


FETCH = ("import urllib.request, sys\n"
         "r = urllib.request.urlopen(sys.argv[1], timeout=10)\n"
         "print(r.status, r.headers['X-Echo'], r.read().decode())\n")


def test_network_is_off_by_default(http_server):
    p = cloche("run", "-c", FETCH, f"http://localhost:{http_server}/")
    assert p.returncode == 1
    assert "network access is off" in p.stderr


def test_loopback_needs_allow_private_net(http_server):
    url = f"http://localhost:{http_server}/x"
    p = cloche("run", "--allow-net", "localhost", "-c", FETCH, url)
    assert p.returncode == 1
    assert "loopback" in p.stderr and "blocked" in p.stderr
    p = cloche("run", "--allow-net", f"localhost:{http_server}",
               "--allow-private-net", "-c", FETCH, url)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("200 ")
    p = cloche("run", "--allow-net", "localhost:1", "--allow-private-net",
               "-c", FETCH, url)
    assert p.returncode == 1 and "not on the allow-list" in p.stderr


def test_secret_reaches_server_but_never_the_guest(test_ca, https_server):
    ca, _ = test_ca
    code = ("import os\n"
            "from urllib.request import Request, urlopen\n"
            "import sys\n"
            "req = Request(sys.argv[1], headers={\n"
            "    'Authorization': 'Bearer ' + os.environ['API_KEY']})\n"
            "r = urlopen(req, timeout=10)\n"
            "print(r.headers['X-Echo'])\n"
            "print(r.read().decode())\n"
            "print(os.environ['API_KEY'])\n")
    p = cloche("run", "--allow-net", "localhost", "--allow-private-net",
               "--net-ca", str(ca), "--secret", f"API_KEY={VALUE}@localhost",
               "-c", code, f"https://localhost:{https_server}/")
    assert p.returncode == 0, p.stderr
    assert EchoHeaders.seen[-1]["Authorization"] == f"Bearer {VALUE}"
    assert VALUE not in p.stdout + p.stderr
    header, body, placeholder = p.stdout.splitlines()
    assert placeholder.startswith("CLOCHE_")
    assert len(placeholder) == len(VALUE)  # reflected bodies keep their size
    assert header == f"Bearer {placeholder}"
    assert json.loads(body)["Authorization"] == f"Bearer {placeholder}"


def test_secret_value_from_host_environment(test_ca, https_server):
    ca, _ = test_ca
    env = dict(os.environ, API_KEY=VALUE)
    code = ("import os, urllib.request, sys\n"
            "req = urllib.request.Request(sys.argv[1], headers={\n"
            "    'Authorization': os.environ['API_KEY']})\n"
            "urllib.request.urlopen(req, timeout=10).read()\n")
    p = cloche("run", "--allow-net", "localhost", "--allow-private-net",
               "--net-ca", str(ca), "--secret", "API_KEY@localhost", "-c",
               code, f"https://localhost:{https_server}/", env=env)
    assert p.returncode == 0, p.stderr
    assert EchoHeaders.seen[-1]["Authorization"] == VALUE


def test_untrusted_certificate_fails(https_server):
    p = cloche("run", "--allow-net", "localhost", "--allow-private-net",
               "-c", FETCH, f"https://localhost:{https_server}/")
    assert p.returncode == 1
    assert "certificate verify failed" in p.stderr


@pytest.mark.parametrize("flag,value", [
    ("--allow-net", ""), ("--allow-net", "host:99999"),
    ("--allow-net", "[::1"), ("--secret", "NOHOST=x"),
    ("--secret", "=v@host"),
])
def test_bad_network_flags_are_usage_errors(flag, value):
    p = cloche("run", flag, value, "-c", "1")
    assert p.returncode == 2, (flag, value, p.stderr)


# Pure-Python HTTP stack from PyPI (pinned), fetched once into the cache.
WHEELS = ["requests==2.34.2", "urllib3==2.8.0", "idna==3.20",
          "certifi==2026.10.18", "charset_normalizer==3.5.2"]


@pytest.fixture(scope="module")
def requests_wheels():
    cache = Path(os.environ.get("CLOCHE_CACHE",
                                Path.home() / ".cache" / "cloche"))
    d = cache / ("wheels-" + "-".join(w.replace("==", "") for w in WHEELS))
    if not d.is_dir():
        tmp = d.with_name(d.name + ".tmp")
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet",
                        "--no-deps", "--only-binary=:all:", "--platform",
                        "any", "--python-version", "3.13", "--implementation",
                        "py", "-d", str(tmp), *WHEELS], check=True,
                       timeout=300)
        tmp.rename(d)
    return sorted(d.glob("*.whl"))


def test_requests_over_https_with_secret(test_ca, https_server,
                                         requests_wheels):
    ca, _ = test_ca
    code = ("import os, sys, requests\n"
            "s = requests.Session()\n"
            "s.headers['Authorization'] = 'token ' + os.environ['TOKEN']\n"
            "for i in range(3):\n"
            "    r = s.get(sys.argv[1], timeout=10)\n"
            "    print(r.status_code, r.json()['Authorization'] ==\n"
            "          'token ' + os.environ['TOKEN'])\n")
    packages = [a for w in requests_wheels for a in ("--package", str(w))]
    p = cloche("run", *packages, "--allow-net", "localhost",
               "--allow-private-net", "--net-ca", str(ca), "--secret",
               f"TOKEN={VALUE}@localhost", "-c", code,
               f"https://localhost:{https_server}/")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "200 True\n" * 3
    assert [h["Authorization"] for h in EchoHeaders.seen[-3:]] == \
        [f"token {VALUE}"] * 3
    # The pooled connection was reused (urllib3 polls it before reuse).
    assert len(set(EchoHeaders.peers[-3:])) == 1
