/**
 * cloche — run untrusted Python inside a WebAssembly sandbox.
 *
 * Umbrella header. The API is split by concept:
 *   cloche/errors.h   status codes and their names/messages
 *   cloche/engine.h   the process-wide engine (compiled guest, epoch ticker)
 *   cloche/sandbox.h  one isolated interpreter, its limits, cloche_run
 *   cloche/result.h   the immutable outcome of a run
 *   cloche/callback.h host callbacks and the run state machine
 *   cloche/session.h  clear, state snapshots (pickle), image snapshots
 *
 * Conventions (see docs/api.md):
 *   - Fallible calls return int: 0 or a negative CLOCHE_E* code. Outputs come
 *     first; inputs are borrowed for the duration of the call; option structs
 *     are copied. Every returned pointer is documented as owned or borrowed.
 *   - What the guest does (a Python exception, a tripped limit) is an outcome
 *     inside a cloche_result, never an error code.
 *   - Every *_free function accepts NULL.
 *
 * Threads: an engine may be shared by all threads. A sandbox is used by one
 * thread at a time (a concurrent call fails with CLOCHE_EBUSY instead of
 * racing). Results are immutable and may be read from any thread.
 */
#ifndef CLOCHE_H
#define CLOCHE_H

#include "cloche/errors.h"
#include "cloche/engine.h"
#include "cloche/result.h"
#include "cloche/network.h"
#include "cloche/sandbox.h"
#include "cloche/callback.h"
#include "cloche/session.h"
#include "cloche/pool.h"

#endif
