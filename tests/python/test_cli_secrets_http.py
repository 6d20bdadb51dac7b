"""Secrets over HTTP, end to end (issue 10, finding 4): the guest tries to
read back a secret from an echo server it is bound to, by asking for a
compressed answer or by padding its request so the server's chunks cut the
value. The host follows the HTTP exchange on such connections: the guest
only ever sees the placeholder, or a refusal."""

import gzip
import http.server
import threading
import zlib

import pytest

from test_cli_network import VALUE, cloche, test_ca  # noqa: F401 (fixture)


class Echo(http.server.BaseHTTPRequestHandler):
    """Answers with the request head as received. /gzip and /deflate
    compress it whatever the client asked for; /polite compresses only if
    asked; /chunk?N sends it in N-byte chunks."""

    protocol_version = "HTTP/1.1"
    seen = []

    def do_GET(self):
        head = (self.requestline + "\r\n" + str(self.headers)).encode()
        self.seen.append(head)
        path, _, query = self.path.partition("?")
        asked = "gzip" in self.headers.get("Accept-Encoding", "")
        encoding = None
        if path == "/gzip" or (path == "/polite" and asked):
            head, encoding = gzip.compress(head), "gzip"
        elif path == "/deflate":
            head, encoding = zlib.compress(head), "deflate"
        self.send_response(200)
        if encoding:
            self.send_header("Content-Encoding", encoding)
        if path == "/chunk":
            n = int(query)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(head), n):
                piece = head[i:i + n]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_header("Content-Length", str(len(head)))
        self.end_headers()
        self.wfile.write(head)

    def log_message(self, *args):
        pass


@pytest.fixture
def echo_server(test_ca):  # noqa: F811
    ca, ctx = test_ca
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Echo.seen.clear()
    yield ca, f"https://localhost:{server.server_address[1]}"
    server.shutdown()


def run(ca, code, url):
    return cloche("run", "--allow-net", "localhost", "--allow-private-net",
                  "--net-ca", str(ca), "--secret",
                  f"API_KEY={VALUE}@localhost", "-c", code, url)


ASK_COMPRESSED = """
import gzip, os, sys, zlib, urllib.request as u
key = os.environ["API_KEY"]
for path, decode in (("/gzip", gzip.decompress), ("/deflate", zlib.decompress),
                     ("/polite", gzip.decompress)):
    req = u.Request(sys.argv[1] + path, headers={
        "Authorization": "Bearer " + key, "Accept-Encoding": "gzip, deflate"})
    try:
        r = u.urlopen(req, timeout=10)
        body = r.read()
        if r.headers.get("Content-Encoding"):
            body = decode(body)
        auth = [l for l in body.decode().splitlines()
                if l.startswith("Authorization")]
        # reversed: a leak must not be hidden by the scrubbing of stdout
        print(path, "read", auth == ["Authorization: Bearer " + key],
              [a[::-1] for a in auth])
    except OSError as e:
        print(path, type(e).__name__, e)
"""


def test_compressed_echo_is_refused(echo_server):
    ca, url = echo_server
    p = run(ca, ASK_COMPRESSED, url)
    assert p.returncode == 0, p.stderr
    assert VALUE not in p.stdout + p.stderr
    assert VALUE[::-1] not in p.stdout + p.stderr
    lines = p.stdout.splitlines()
    # A server that compresses anyway: refused before the guest sees a byte.
    assert lines[0].startswith("/gzip PermissionError")
    assert "encoded" in lines[0]
    assert lines[1].startswith("/deflate PermissionError")
    # A server that honours Accept-Encoding: cloche asked for identity.
    assert lines[2].startswith("/polite read True")
    # Every request carried the value, and asked for identity.
    assert len(Echo.seen) == 3
    for head in Echo.seen:
        assert f"Authorization: Bearer {VALUE}".encode() in head
        assert b"Accept-Encoding: identity" in head
        assert b"Accept-Encoding: gzip" not in head


PAD_EVERY_OFFSET = """
import http.client, os, ssl, sys
key = os.environ["API_KEY"]
host, port = sys.argv[1].rsplit("/", 1)[1].split(":")
c = http.client.HTTPSConnection(host, int(port),
                                context=ssl.create_default_context())
found = set()
for size in (1, 5, 16):
    for pad in range(size + len(key) + 1):
        c.request("GET", f"/chunk?{size}", headers={
            "X-Pad": "a" * pad, "Authorization": "Bearer " + key})
        body = c.getresponse().read().decode()
        found.add(body.count(key))
print("placeholder counts", sorted(found))
"""


def test_chunk_boundaries_never_cut_the_value(echo_server):
    ca, url = echo_server
    p = run(ca, PAD_EVERY_OFFSET, url)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "placeholder counts [1]\n"
    assert VALUE not in p.stdout + p.stderr
    n = sum(s + len(VALUE) + 1 for s in (1, 5, 16))
    assert len(Echo.seen) == n
    assert all(VALUE.encode() in head for head in Echo.seen)
