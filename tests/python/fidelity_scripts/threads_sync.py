# Producer/consumer, events, conditions, barriers, timers, thread-locals.
import queue
import threading

q = queue.Queue()
out = []


def consumer():
    while True:
        item = q.get()
        if item is None:
            break
        out.append(item * 10)
        q.task_done()


c = threading.Thread(target=consumer)
c.start()
for i in range(4):
    q.put(i)
q.join()
q.put(None)
c.join()
print("consumer:", out)

ready = threading.Event()
seen = []
waiter = threading.Thread(target=lambda: seen.append(ready.wait(5)))
setter = threading.Thread(target=ready.set)
waiter.start()
setter.start()
waiter.join()
setter.join()
print("event:", seen, ready.is_set())

print("event timeout:", threading.Event().wait(0.01))
fired = []
timer = threading.Timer(0.01, lambda: fired.append(True))
timer.start()
timer.join()
print("timer:", fired)

local = threading.local()
local.x = "main"
peek = []
t = threading.Thread(target=lambda: peek.append(getattr(local, "x", None)))
t.start()
t.join()
print("local:", peek, local.x)

sq = queue.SimpleQueue()
p = threading.Thread(target=lambda: [sq.put(i) for i in range(3)])
p.start()
print("simplequeue:", [sq.get() for _ in range(3)])
p.join()

errors = []
threading.excepthook = lambda args: errors.append(args.exc_type.__name__)
t = threading.Thread(target=lambda: 1 / 0)
t.start()
t.join()
print("excepthook:", errors)
rl = threading.RLock()
with rl:
    with rl:
        print("rlock: reentrant")
