/*
 * The blocking driver and the waiting half of the state machine.
 * cloche_run = cloche_start, then wait/resume until DONE, then finish:
 * callback implementations run on the engine's worker pool, so calls the
 * guest gathered overlap, and the guest is resumed as soon as any reply
 * (or its next timer) is due.
 */
#include "internal.h"

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

int cloche_wait(cloche_sandbox *sb) {
    if (!sb)
        return CLOCHE_EINVAL;
    if (sb->run_state != CLOCHE__RUN_PENDING)
        return cloche__fail(sb, CLOCHE_ESTATE, "no pending run");
    uint64_t until = min_u64(sb->deadline_ns, sb->wake_ns);
    until = min_u64(until, cloche__hub_next_deadline(sb->hub));
    cloche__hub_wait(sb->hub, NULL, until);
    cloche__hub_expire(sb->hub, cloche__now_ns());
    return 0;
}

size_t cloche_pending_count(cloche_sandbox *sb) {
    return sb && sb->run_state == CLOCHE__RUN_PENDING
               ? cloche__hub_count(sb->hub)
               : 0;
}

int cloche_is_pending(const cloche_sandbox *sb) {
    return sb && sb->run_state == CLOCHE__RUN_PENDING;
}

cloche_call *cloche_pending_call(cloche_sandbox *sb, size_t i) {
    return sb && sb->run_state == CLOCHE__RUN_PENDING
               ? cloche__hub_at(sb->hub, i)
               : NULL;
}

/* Wait and resume until the run is done, then take its result. */
static int drive(cloche_result **out, cloche_sandbox *sb, cloche_step step) {
    int rc = 0;
    while (rc == 0 && step == CLOCHE_STEP_PENDING) {
        rc = cloche_wait(sb);
        if (rc == 0)
            rc = cloche_resume(&step, sb);
    }
    return rc == 0 ? cloche_finish(out, sb) : rc;
}

int cloche_run(cloche_result **out, cloche_sandbox *sb, const char *code,
               size_t len) {
    if (out)
        *out = NULL;
    if (!out)
        return cloche__fail(sb, CLOCHE_EINVAL, "NULL argument");
    cloche_step step;
    int rc = cloche__start(&step, sb, code, len, 1);
    return rc == 0 ? drive(out, sb, step) : rc;
}

int cloche_drive(cloche_result **out, cloche_sandbox *sb) {
    if (out)
        *out = NULL;
    if (!out || !sb)
        return cloche__fail(sb, CLOCHE_EINVAL, "NULL argument");
    if (sb->run_state != CLOCHE__RUN_PENDING)
        return cloche__fail(sb, CLOCHE_ESTATE, "no pending run");
    sb->blocking_driver = 1;
    /* Calls nobody can answer would wait forever: fail them now. */
    for (size_t i = cloche__hub_count(sb->hub); i-- > 0;) {
        cloche_call *c = cloche__hub_at(sb->hub, i);
        const cloche__callback *cb =
            c ? cloche__callbacks_find(&sb->callbacks, cloche_call_name(c))
              : NULL;
        if (c && (!cb || (!cb->fn && !cb->sync_fn)))
            cloche__call_resolve(c, CLOCHE__REPLY_FAILED,
                                 "no host implementation for this callback");
    }
    return drive(out, sb, CLOCHE_STEP_PENDING);
}
