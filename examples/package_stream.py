"""Streaming output, a pool of warm sandboxes, cancellation.

    python examples/package_stream.py
"""

from __future__ import annotations

import asyncio

import cloche

CODE = """
import time
for step in range(3):
    print(f"step {step}", flush=True)
    time.sleep(0.1)
"done"
"""


async def main() -> None:
    async with cloche.Pool(size=2, timeout=10) as pool:
        async with pool.sandbox() as sb:
            async for item in sb.stream(CODE):
                if isinstance(item, cloche.Output):
                    print(f"[{item.stream}] {item.text}", end="")
                else:
                    print("result:", item.value)

        async with pool.sandbox() as sb:
            task = asyncio.create_task(sb.run("while True: pass"))
            await asyncio.sleep(0.1)
            task.cancel()  # stops the guest promptly; the sandbox stays usable
            try:
                await task
            except asyncio.CancelledError:
                print("cancelled; next run:", (await sb.run("1 + 1")).value)


if __name__ == "__main__":
    asyncio.run(main())
