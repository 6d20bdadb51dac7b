# A sandboxed script: the whole standard library, no host access.
import asyncio
import json
import sqlite3
import zlib


async def fetch(i):
    await asyncio.sleep(0.01)
    return {"item": i, "square": i * i}


async def main():
    return await asyncio.gather(*(fetch(i) for i in range(3)))


items = asyncio.run(main())
db = sqlite3.connect(":memory:")
db.execute("create table t (item int, square int)")
db.executemany("insert into t values (:item, :square)", items)
total = db.execute("select sum(square) from t").fetchone()[0]
packed = zlib.compress(json.dumps(items).encode())
print(f"hello from the sandbox: {len(items)} items, sum of squares {total}")
print(f"json is {len(json.dumps(items))} bytes, {len(packed)} compressed")
