# A sandboxed script that awaits host tools (run with --demo-tools).
# The three sleeps overlap on the host: the gather takes ~0.2 s, not 0.6 s.
import asyncio
import time

start = time.monotonic()
results = await asyncio.gather(
    sleep(seconds=0.2), sleep(seconds=0.2), sleep(0.2),
    echo(city="Oslo", days=3),
)
elapsed = time.monotonic() - start
print("echo said:", results[-1])
print(f"three 0.2 s host sleeps took {elapsed:.2f} s")

try:
    await fail(message="the host says no")
except CallbackError as e:
    print("caught:", e)

print("tools:", [t["name"] for t in list_callbacks()])
