"""Cancellation, parallel sandboxes in threads, a responsive event loop, Pool."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import cloche

BUSY = "import time\nt = time.time()\nwhile time.time() - t < {s}: pass\n'done'"


async def test_cancel_task_during_cpu_loop() -> None:
    async with cloche.Sandbox(timeout=30) as sb:
        task = asyncio.create_task(sb.run("while True: pass"))
        await asyncio.sleep(0.2)
        t0 = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - t0 < 0.5  # promptly
        assert (await sb.run("'still usable'")).value == "still usable"


async def test_cancel_task_during_pending_tool_call() -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    @cloche.tool
    async def forever() -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async with cloche.Sandbox(tools=[forever], timeout=30) as sb:
        task = asyncio.create_task(sb.run("await forever()"))
        await asyncio.wait_for(started.wait(), 5)
        t0 = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - t0 < 0.5
        await asyncio.wait_for(cancelled.wait(), 2)  # the host tool was stopped too
        assert (await sb.run("1 + 1")).value == 2


async def test_wait_for_timeout_on_a_run() -> None:
    async with cloche.Sandbox(timeout=30) as sb:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(sb.run("while True: pass"), 0.2)
        assert (await sb.run("3")).value == 3


def test_cancel_from_another_thread() -> None:
    with cloche.Sandbox(timeout=30) as sb:
        threading.Timer(0.2, sb.cancel).start()
        t0 = time.monotonic()
        with pytest.raises(cloche.Cancelled) as ei:
            sb.run_sync("print('working')\nwhile True: pass")
        assert time.monotonic() - t0 < 2
        assert ei.value.result.outcome == "cancelled"
        assert ei.value.result.stdout == "working\n"
        assert sb.run_sync("'ok'").value == "ok"


def test_eight_sandboxes_in_eight_threads() -> None:
    results: dict[int, object] = {}
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            with cloche.Sandbox(timeout=60) as sb:
                sb.run_sync(f"n = {i}")
                r = sb.run_sync("sum(range(200_000)) + n")
                results[i] = r.value
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert results == {i: sum(range(200_000)) + i for i in range(8)}


def test_gil_is_released_while_the_guest_runs() -> None:
    counted = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal counted
        while not stop.is_set():
            counted += 1

    with cloche.Sandbox(timeout=30) as sb:
        t = threading.Thread(target=count)
        t.start()
        sb.run_sync(BUSY.format(s=0.5))
        stop.set()
        t.join()
    assert counted > 10_000  # the Python thread ran throughout


async def test_event_loop_stays_responsive() -> None:
    ticks: list[float] = []

    async def ticker() -> None:
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.01)

    async with cloche.Sandbox(timeout=30) as sb:
        tk = asyncio.create_task(ticker())
        t0 = time.monotonic()
        r = await sb.run(BUSY.format(s=1.0))
        tk.cancel()
    assert r.value == "done"
    during = [t for t in ticks if t0 <= t <= t0 + 1.0]
    assert len(during) >= 40  # ~100 expected at 10 ms; never starved
    gaps = [b - a for a, b in zip(during, during[1:])]
    assert max(gaps) < 0.2


async def test_concurrent_runs_as_tasks() -> None:
    sbs = [cloche.Sandbox(timeout=30) for _ in range(4)]
    t0 = time.monotonic()
    results = await asyncio.gather(*(s.run(BUSY.format(s=0.3)) for s in sbs))
    assert [r.value for r in results] == ["done"] * 4
    assert time.monotonic() - t0 < 1.2 * 4 * 0.3  # at least some overlap on 2 cores
    for s in sbs:
        s.close()


async def test_same_sandbox_concurrently_is_busy() -> None:
    async with cloche.Sandbox(timeout=30) as sb:
        first = asyncio.create_task(sb.run(BUSY.format(s=0.3)))
        await asyncio.sleep(0.05)
        with pytest.raises(cloche.Busy):
            await sb.run("1")
        assert (await first).value == "done"


async def test_pool_hands_out_ready_sandboxes_and_resets_them() -> None:
    async with cloche.Pool(size=2, timeout=10) as pool:
        assert pool.available == 2
        async with pool.sandbox() as a:
            await a.run("leftover = 1")
            async with pool.sandbox() as b:
                assert a is not b
                assert pool.available == 0
        for _ in range(100):
            if pool.available == 2:
                break
            await asyncio.sleep(0.01)
        assert pool.available == 2
        for _ in range(2):
            async with pool.sandbox() as c:
                r = await c.run("leftover")
                assert r.exception is not None and r.exception.type == "NameError"


async def test_pool_waits_when_all_are_busy() -> None:
    async with cloche.Pool(size=1) as pool:
        order: list[str] = []

        async def user(name: str) -> None:
            async with pool.sandbox() as sb:
                order.append(name)
                await sb.run("import time\ntime.sleep(0.1)")

        await asyncio.gather(user("a"), user("b"))
        assert sorted(order) == ["a", "b"]


async def test_many_sandboxes_with_tools_at_once() -> None:
    @cloche.tool
    async def square(n: int) -> int:
        await asyncio.sleep(0.01)
        return n * n

    @cloche.tool
    def cube(n: int) -> int:
        return n ** 3

    sbs = [cloche.Sandbox(tools=[square, cube], timeout=60) for _ in range(16)]
    code = ("import asyncio\n"
            "sq = await asyncio.gather(*(square(i) for i in range(10)))\n"
            "cu = await asyncio.gather(*(cube(i) for i in range(3)))\n"
            "[sum(sq), sum(cu), await cube(K)]")
    results = await asyncio.gather(*(s.run(code.replace("K", str(k)))
                                     for k, s in enumerate(sbs)))
    assert [r.value for r in results] == [[285, 9, k ** 3] for k in range(16)]
    for s in sbs:
        s.close()


def test_ctrl_c_interrupts_run_sync_on_the_main_thread() -> None:
    import os
    import signal

    assert threading.current_thread() is threading.main_thread()
    with cloche.Sandbox(timeout=30) as sb:
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
        t0 = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            sb.run_sync("while True: pass")
        assert time.monotonic() - t0 < 2
        assert sb.run_sync("'after ctrl-c'").value == "after ctrl-c"
    assert signal.set_wakeup_fd(-1) == -1  # nothing left armed
