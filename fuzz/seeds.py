#!/usr/bin/env python3
"""Write the hand-made seeds of fuzz/corpus/ (fuzz/README.md).

    python3 fuzz/seeds.py            # rewrites fuzz/corpus/<target>/seed-*

Seeds are small inputs in each target's format that reach deep into the
code at once; the fuzzer (and ctest's replay) start from them. wasi_state
seeds come from test_wasi_state (CLOCHE_STATE_SEED_DIR), live snapshot
payloads from fuzz_snapshot itself (CLOCHE_FUZZ_SEED_DIR); fuzz/run.sh
adds both to the working corpus.
"""

import hashlib
import struct
import zlib
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "corpus"


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / f"seed-{name}").write_bytes(data)


# ---- http: 4 settings bytes, then the stream (0x01: the secret) ---------

def http(name, stream, nreq=0, heads=0, seed=7, flags=0, request=False):
    cfg = bytes([(nreq & 63) | (0x80 if request else 0), heads, seed, flags])
    write("http", name, cfg + stream)


ECHO = b"GET / HTTP/1.1\r\nAuthorization: Bearer \x01\r\n\r\n"


def chunked(body, size):
    out = b""
    for i in range(0, len(body), size):
        piece = body[i:i + size]
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    return out + b"0\r\n\r\n"


def seeds_http():
    body = b"echo: Authorization: Bearer \x01 end"
    http("cl", b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (
        len(body) + 24) + body, nreq=1)
    http("chunked-3", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
         b"\r\n" + chunked(b"Bearer \x02\x05" + b"\x03\x05 tail", 3), nreq=1)
    http("split-over-chunks", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: "
         b"chunked\r\n\r\n5\r\nab\x02\x03\r\n16\r\n\x03\x03\r\n0\r\n"
         b"X-T: \x01\r\n\r\n", nreq=1, flags=1)
    http("keepalive", b"HTTP/1.1 100 Continue\r\n\r\n"
         b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n\x02\x04"
         b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n"
         b"HTTP/1.1 204 No Content\r\n\r\n"
         b"HTTP/1.1 200 OK\r\n\r\nclose-delimited \x01", nreq=4, heads=2)
    http("gzip", b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
         b"Content-Length: 10\r\n\r\n\x1f\x8b\x08\x00\x00\x00\x00\x00\x00"
         b"\x03", nreq=1)
    http("cut-at-eof", b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n"
         b"ab\x02\x0a", nreq=1)
    http("request-mixed", b"POST /?k=\x01 HTTP/1.1\r\nAuthorization: \x01\r\n"
         b"Accept-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
         b"5\r\n\x02\x05\r\n0\r\nT: \x01\r\n\r\n"
         b"GET / HTTP/1.0\nX: a\x01b\n\n"
         b"HEAD / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", request=True,
         flags=1)
    http("request-refused", b"GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n"
         b"CONNECT x:1 HTTP/1.1\r\n\r\n", request=True)


# ---- net_policy: NUL-separated fields -----------------------------------

def seeds_net_policy():
    def pol(name, *fields):
        write("net_policy", name, b"\0".join(fields))
    pol("names", b"API.Example.COM.", b"*.example.com",
        b"\0\0\0\0\0\0\0\0\0\0\xff\xff\x7f\0\0\x01", b"api.example.com",
        b"!", b"KEY", b"sk-0123456789", b"CLOCHE_KEY_00000000000")
    pol("ip6", b"fe80::1%eth0", b"2001:db8::1", b"\x20\x02\xa9\xfe\xa9\xfe")
    pol("numeric", b"0x7f.0.0.1", b"127.1", b"", b"*.", b"a.*.com", b"!")
    pol("secrets", b"x", b"y", b"", b"a.test", b"b.test", b"!",
        b"A", b"valueAAAA1", b"PH_A_0000000000000", b"B", b"valueAAAA1x",
        b"PH_B_0000000000000")


# ---- wasi_abi: memory size byte, memory bytes, then calls ----------------

def seeds_wasi_abi():
    # import indices change with the table; a few fixed byte patterns that
    # reach path_open / fd_write / poll_oneoff style argument mixes
    base = bytes([3]) + bytes(range(256)) * 4
    write("wasi_abi", "small-args", base + bytes([5, 0, 3, 0, 1, 7, 2, 2, 0,
                                                  1, 16, 5, 0, 0, 0, 0]) * 8)
    write("wasi_abi", "edges", bytes([0]) + b"/tmp/x\0" * 20 +
          bytes([i % 255 for i in range(200)]))
    write("wasi_abi", "wraps", bytes([15]) + bytes([3, 0xff]) * 300)


# ---- vfs_model: op, path shape, components... ----------------------------

def seeds_vfs_model():
    ops = bytes([
        0, 1, 0,            # mkdir a
        1, 2, 0, 1,         # create a/b
        6, 2, 0, 1, 3, 4, 65, 66, 67, 68,  # write a/b
        5, 2, 0, 1, 5, 2, 0,  # rename a/b -> a/a (shape 5: absolute)
        8, 1,               # base = first folder
        0, 0x0a, 4, 2,      # mkdir ../c/ relative
        4, 4, 0,            # rmdir /a
        3, 6, 0, 0,         # unlink a/a
        7, 3, 3, 4, 1,      # lookup ./../b
        0, 5, 5, 0,         # mkdir /r/a (read-only: refused)
    ])
    write("vfs_model", "ops", ops)
    write("vfs_model", "deep", bytes([0, 0, 0, 0, 1, 0, 1, 0, 2, 0, 1, 2,
                                      0, 3, 0, 1, 2, 0, 5, 3, 0, 1, 2, 3,
                                      7, 3, 0, 1, 2]))


# ---- record: caps byte, then the record ------------------------------------

RECORD_VALUE = b"SECRETvalue0123456789"  # fuzz_record.c's VALUE


def field(b):
    """A record field; its length counts 0x01 as the value it stands for."""
    return struct.pack("<I", len(b.replace(b"\x01", RECORD_VALUE))) + b


ABSENT = struct.pack("<I", 0xFFFFFFFF)


def png(width):
    """A small valid PNG (the images field's content)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data)))
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", width, 1, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(b"\x00" + bytes(3 * width))) +
            chunk(b"IEND", b""))


def seeds_record():
    # Six fields: value repr, value JSON, exception type, message,
    # traceback, images ((u32 length, PNG)*).
    ok = struct.pack("<I", 0) + field(b"3") + field(b"3") + ABSENT * 4
    write("record", "ok", bytes([0x80]) + ok)
    exc = (struct.pack("<I", 1) + ABSENT * 2 + field(b"ValueError") +
           field(b"bad \x01 value") + field(b"Traceback ...\x01\n") + ABSENT)
    write("record", "exception", bytes([20]) + exc)
    esc = b'"\\u0053ECRETvalue0123456789"'
    write("record", "json-escape", bytes([0x80]) + struct.pack("<I", 0) +
          field(b"'x'") + field(esc) + ABSENT * 4)
    write("record", "cut", bytes([10]) + struct.pack("<I", 0) +
          field(b"'" + b"\x01" * 3 + b"'") + field(b'["\x01"]') + ABSENT * 4)
    images = b"".join(struct.pack("<I", len(p)) + p
                      for p in (png(1), png(30), b"\x89PNG\r\n\x1a\nbad"))
    write("record", "images", bytes([0x80]) + struct.pack("<I", 0) +
          ABSENT * 5 + field(images))
    text = b"k\x00\x01ab"  # 0x01: the secret's value, in a text chunk
    secret = (png(2)[:-12] + struct.pack(
        ">I", len(text.replace(b"\x01", RECORD_VALUE))) + b"tEXt" + text +
        bytes(4) + png(2)[-12:])
    write("record", "images-secret", bytes([0x80]) + struct.pack("<I", 0) +
          ABSENT * 5 + field(struct.pack("<I", len(
              secret.replace(b"\x01", RECORD_VALUE))) + secret))
    write("record", "images-capped", bytes([0x7f]) + struct.pack("<I", 1) +
          ABSENT * 5 + field(images))


# ---- snapshot: "REAL" + (field, kind) pairs ------------------------------

def seeds_snapshot():
    write("snapshot", "real", b"REAL")
    for i, pairs in enumerate([(0, 0), (1, 4), (2, 6), (10, 1), (12, 5),
                               (20, 2), (24, 9), (30, 3), (40, 4),
                               (8, 8), (9, 7), (50, 0)]):
        write("snapshot", f"real-edit-{i}", b"REAL" + bytes(pairs))
    write("snapshot", "tiny", b"\0" * 16)
    write("snapshot", "garbage", hashlib.sha256(b"cloche").digest() * 4)


if __name__ == "__main__":
    seeds_http()
    seeds_net_policy()
    seeds_wasi_abi()
    seeds_vfs_model()
    seeds_record()
    seeds_snapshot()
