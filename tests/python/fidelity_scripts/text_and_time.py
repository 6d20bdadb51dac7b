# UTF-8 text, the real clock, time zones, compression, sqlite, exit().
import bz2
import datetime
import io
import lzma
import os
import sqlite3
import sys
import tarfile
import tempfile
import time
import zoneinfo

print("café ✓ 日本", sys.stdout.encoding, sys.getfilesystemencoding())
print("year ok:", datetime.datetime.now().year >= 2026)
t0, p0 = time.process_time(), os.times()[0]
sum(range(100000))
print("process clocks:", t0 >= 0, p0 >= 0, time.process_time() >= t0)
oslo = zoneinfo.ZoneInfo("Europe/Oslo")
print("oslo:", datetime.datetime(2026, 7, 1, 12, tzinfo=oslo).utcoffset(),
      datetime.datetime(2026, 1, 1, 12, tzinfo=oslo).tzname())
d = tempfile.mkdtemp()
name = os.path.join(d, "naïve ☃.txt")
with open(name, "w") as f:
    f.write("ünïcödé")
print("file:", os.listdir(d), open(name).read())
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w:xz") as tar:
    data = b"x" * 1000
    info = tarfile.TarInfo("a.txt")
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
buf.seek(0)
print("xz tar:", len(tarfile.open(fileobj=buf, mode="r:xz").extractfile("a.txt").read()))
print("bz2:", bz2.decompress(bz2.compress(b"abc" * 9)) == b"abc" * 9,
      lzma.decompress(lzma.compress(b"abc")) == b"abc")
db = os.path.join(d, "t.db")
a = sqlite3.connect(db)
a.execute("create table t(x)")
a.commit()
b = sqlite3.connect(db)
a.execute("insert into t values (1)")
print("sqlite before commit:", b.execute("select count(*) from t").fetchone())
a.commit()
print("sqlite after commit:", b.execute("select count(*) from t").fetchone())
print("exit is", type(exit).__name__, "quit is", type(quit).__name__)
exit(3)
