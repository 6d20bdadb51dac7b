"""cloche's guest runtime: the Python half that runs inside the sandbox.

The C glue (guest/glue.c) calls `runtime.run(source)` for every run. Nothing
in this package talks to the host except through WASI and cloche's own
imports, which the C glue owns.
"""

# Cooperative threads must replace _thread before anything imports threading
# (asyncio, concurrent.futures, queue, logging...): see cothreads.py.
from . import cothreads as _cothreads

_cothreads.install()
