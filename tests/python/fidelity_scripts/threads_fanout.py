# Fan-out with threads, executors and asyncio: results as python3 gives them.
import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed, wait

results = []
lock = threading.Lock()


def work(n):
    with lock:
        results.append(n * n)
    return n * n


threads = [threading.Thread(target=work, args=(i,)) for i in range(5)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("threads:", sorted(results), [t.is_alive() for t in threads])

with ThreadPoolExecutor(max_workers=3) as ex:
    futures = [ex.submit(work, i) for i in range(6)]
    print("as_completed:", sorted(f.result() for f in as_completed(futures)))
    print("map:", list(ex.map(work, range(4))))
    done, _ = wait([ex.submit(sum, [1, 2]), ex.submit(max, 3, 9)])
    print("wait:", sorted(f.result() for f in done))
    failing = ex.submit(int, "x")
    print("exception:", type(failing.exception()).__name__)


async def main():
    a = await asyncio.to_thread(sum, [1, 2, 3])
    b = await asyncio.get_running_loop().run_in_executor(None, max, [4, 9])
    c = await asyncio.gather(*(asyncio.to_thread(pow, 2, i) for i in range(4)))
    return a, b, c


print("asyncio:", asyncio.run(main()))
names = []
t = threading.Thread(target=lambda: names.append(threading.current_thread().name),
                     name="worker-1")
t.start()
t.join()
print("name:", names, threading.current_thread().name)
