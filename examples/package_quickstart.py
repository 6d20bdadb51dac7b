"""cloche from Python: a sandbox, a run, tools the sandboxed code awaits.

    pip install .            # from the repository root
    python examples/package_quickstart.py
"""

from __future__ import annotations

import asyncio

import cloche


@cloche.tool
async def get_weather(city: str) -> dict[str, object]:
    """Current weather for a city."""
    await asyncio.sleep(0.05)  # a real tool would call an API here
    return {"city": city, "temp_c": 7}


@cloche.tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


AGENT_CODE = """
import asyncio
cities = ["Oslo", "Rome", "Lima"]
reports = await asyncio.gather(*(get_weather(c) for c in cities))
print(f"{len(reports)} reports, {await add(2, 3)} extra")
{r["city"]: r["temp_c"] for r in reports}
"""


async def main() -> None:
    async with cloche.Sandbox(timeout=5, memory="128M", tools=[get_weather, add]) as sb:
        result = await sb.run(AGENT_CODE)
        print(result.stdout, end="")
        print(result.value)  # {'Oslo': 7, 'Rome': 7, 'Lima': 7}

        bad = await sb.run("1 / 0")
        assert bad.exception is not None
        print(bad.exception.type, "-", bad.exception.message)

    async with cloche.Sandbox(timeout=0.5) as quick:
        try:
            await quick.run("while True: pass")
        except cloche.Timeout as e:
            print("stopped:", e.limit, e.value, "ms")


if __name__ == "__main__":
    with cloche.Sandbox() as box:  # the blocking flavour
        print(box.run_sync("sum(range(10))").value)  # 45
    asyncio.run(main())
