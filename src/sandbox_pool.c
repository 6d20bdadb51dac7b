/*
 * cloche_pool: warm sandboxes ready to check out (include/cloche/pool.h).
 *
 * One background thread per pool does the slow work: it recycles returned
 * sandboxes (reset to the image, limits and callbacks put back, warmed)
 * and tops the ready list up to `size` with new warmed sandboxes. Callers
 * only ever take the mutex to pop or push a pointer, except when the ready
 * list is empty, where acquire makes a sandbox itself rather than wait.
 *
 * Making a sandbox (mmap, ~200 copy-on-write faults, a warm-up run) slows
 * a run on another core down: page faults wait on the process's mmap lock
 * and the filler's mmap/madvise calls flush every core's TLB. Measured on
 * 2 cores: a pooled sandbox's first run took 177 us alone and 473 us with
 * a refill beside it. So while sandboxes are checked out, new ones are made
 * only when the ready list is empty or REFILL_DEFER_NS after the last
 * checkout; returned sandboxes are recycled at once (their user is done),
 * which in the usual acquire-run-release pattern refills the list anyway.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

typedef struct sandbox_list {
    cloche_sandbox **items;
    size_t count, cap;
} sandbox_list;

struct cloche_pool {
    cloche_engine *engine;
    cloche_pool_options opts;
    int64_t limits[CLOCHE_LIMIT__COUNT]; /* a fresh sandbox's, restored */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t filler;
    sandbox_list ready, returned;
    size_t checked_out;       /* acquired, not yet released */
    uint64_t last_acquire_ns; /* CLOCK_MONOTONIC */
    int stop;
    int fill_failed; /* the last make failed: wait for a wake before retrying */
};

static int list_push(sandbox_list *l, cloche_sandbox *sb) {
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        cloche_sandbox **items = realloc(l->items, cap * sizeof *items);
        if (!items)
            return CLOCHE_ENOMEM;
        l->items = items;
        l->cap = cap;
    }
    l->items[l->count++] = sb;
    return 0;
}

static cloche_sandbox *list_pop(sandbox_list *l) {
    return l->count ? l->items[--l->count] : NULL;
}

static void list_free(sandbox_list *l) {
    for (size_t i = 0; i < l->count; i++)
        cloche_sandbox_free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

/* Put the pool's callbacks back: exactly those, whatever a user added. */
static int set_callbacks(cloche_pool *p, cloche_sandbox *sb) {
    cloche__callbacks_free(&sb->callbacks);
    for (size_t i = 0; i < p->opts.callback_count; i++) {
        int rc = cloche_sandbox_add_callback(sb, &p->opts.callbacks[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static void set_limits(cloche_pool *p, cloche_sandbox *sb) {
    for (int l = CLOCHE_LIMIT_NONE + 1; l < CLOCHE_LIMIT__COUNT; l++)
        cloche_sandbox_limit(sb, (cloche_limit)l, p->limits[l]);
}

/* A new sandbox with the pool's options, callbacks, warmed. */
static int make_sandbox(cloche_pool *p, cloche_sandbox **out) {
    cloche_sandbox *sb;
    int rc = cloche_sandbox_new(&sb, p->engine, p->opts.sandbox);
    if (rc != 0)
        return rc;
    if ((rc = set_callbacks(p, sb)) == 0)
        rc = cloche_sandbox_warm(sb);
    if (rc != 0) {
        cloche__keep_new_error(sb, rc);
        cloche_sandbox_free(sb);
        return rc;
    }
    *out = sb;
    return 0;
}

/* A returned sandbox, made as good as new; 0 or an error (then freed). */
static int recycle(cloche_pool *p, cloche_sandbox *sb) {
    int rc = cloche_sandbox_reset(sb);
    if (rc == 0) {
        set_limits(p, sb);
        rc = set_callbacks(p, sb);
    }
    if (rc == 0)
        rc = cloche_sandbox_warm(sb);
    if (rc != 0)
        cloche_sandbox_free(sb);
    return rc;
}

/* With the lock held: keep sb if there is room, else hand it back to free. */
static cloche_sandbox *offer(cloche_pool *p, cloche_sandbox *sb) {
    if (!p->stop && p->ready.count < p->opts.size &&
        list_push(&p->ready, sb) == 0)
        return NULL;
    return sb;
}

/* How long new sandboxes wait for checked-out ones to come back. */
#define REFILL_DEFER_NS 10000000u

static uint64_t monotonic_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* With the lock held: 0 to make a sandbox now, else the CLOCK_MONOTONIC
 * time to wait for (see the comment at the top). */
static uint64_t refill_deferred_until(const cloche_pool *p) {
    if (p->checked_out == 0 || p->ready.count == 0)
        return 0;
    uint64_t due = p->last_acquire_ns + REFILL_DEFER_NS;
    return monotonic_ns() >= due ? 0 : due;
}

static void wait_until(cloche_pool *p, uint64_t due_ns) {
    /* The condition variable's clock is CLOCK_MONOTONIC (cloche_pool_new). */
    struct timespec t = {(time_t)(due_ns / 1000000000u),
                         (long)(due_ns % 1000000000u)};
    pthread_cond_timedwait(&p->wake, &p->lock, &t);
}

/* With the lock held; returns with it held. 1 after one unit of work; 0
 * when there is none; or 2 with *due_ns set when a refill is deferred. */
static int fill_step(cloche_pool *p, uint64_t *due_ns) {
    cloche_sandbox *sb = list_pop(&p->returned), *extra = NULL;
    int rc;
    if (sb) {
        pthread_mutex_unlock(&p->lock);
        rc = recycle(p, sb);
        pthread_mutex_lock(&p->lock);
        if (rc == 0)
            extra = offer(p, sb);
    } else if (p->ready.count < p->opts.size && !p->fill_failed) {
        if ((*due_ns = refill_deferred_until(p)) != 0)
            return 2;
        pthread_mutex_unlock(&p->lock);
        rc = make_sandbox(p, &sb);
        pthread_mutex_lock(&p->lock);
        p->fill_failed = rc != 0;
        if (rc == 0)
            extra = offer(p, sb);
    } else {
        return 0;
    }
    if (extra) {
        pthread_mutex_unlock(&p->lock);
        cloche_sandbox_free(extra);
        pthread_mutex_lock(&p->lock);
    }
    return 1;
}

static void *filler_main(void *arg) {
    cloche_pool *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        uint64_t due = 0;
        int step = fill_step(p, &due);
        if (step == 0)
            pthread_cond_wait(&p->wake, &p->lock);
        else if (step == 2)
            wait_until(p, due);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static int read_options(cloche_pool *p, const cloche_pool_options *o) {
    cloche_pool_options defaults = CLOCHE_POOL_OPTIONS_INIT;
    if (!o)
        o = &defaults;
    if (o->version != CLOCHE_POOL_OPTIONS_VERSION ||
        (o->callback_count && !o->callbacks))
        return CLOCHE_EINVAL;
    p->opts = *o;
    if (!p->opts.size)
        p->opts.size = CLOCHE_POOL_DEFAULT_SIZE;
    return 0;
}

/* The first sandbox: proves the options and gives the limits to restore. */
static int first_sandbox(cloche_pool *p) {
    cloche_sandbox *sb;
    int rc = make_sandbox(p, &sb);
    if (rc != 0)
        return rc;
    for (int l = CLOCHE_LIMIT_NONE + 1; l < CLOCHE_LIMIT__COUNT; l++)
        p->limits[l] = cloche_sandbox_limit(sb, (cloche_limit)l, -1);
    if (list_push(&p->ready, sb) != 0) {
        cloche_sandbox_free(sb);
        return CLOCHE_ENOMEM;
    }
    return 0;
}

int cloche_pool_new(cloche_pool **out, cloche_engine *engine,
                    const cloche_pool_options *options) {
    if (!out || !engine)
        return CLOCHE_EINVAL;
    *out = NULL;
    cloche_pool *p = calloc(1, sizeof *p);
    if (!p)
        return CLOCHE_ENOMEM;
    p->engine = engine;
    int rc = read_options(p, options);
    if (rc == 0)
        rc = first_sandbox(p);
    if (rc != 0) {
        list_free(&p->ready);
        free(p);
        return rc;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&p->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&p->filler, NULL, filler_main, p) != 0) {
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->lock);
        list_free(&p->ready);
        free(p);
        return CLOCHE_ENOMEM;
    }
    *out = p;
    return 0;
}

int cloche_pool_acquire(cloche_pool *pool, cloche_sandbox **out) {
    if (!pool || !out)
        return CLOCHE_EINVAL;
    pthread_mutex_lock(&pool->lock);
    cloche_sandbox *sb = list_pop(&pool->ready);
    pool->fill_failed = 0;
    pool->checked_out++;
    pool->last_acquire_ns = monotonic_ns();
    pthread_cond_signal(&pool->wake); /* top the ready list up */
    pthread_mutex_unlock(&pool->lock);
    if (sb) {
        *out = sb;
        return 0;
    }
    return make_sandbox(pool, out);
}

void cloche_pool_release(cloche_pool *pool, cloche_sandbox *sb) {
    if (!pool || !sb)
        return;
    pthread_mutex_lock(&pool->lock);
    if (pool->checked_out)
        pool->checked_out--;
    int kept = !pool->stop && list_push(&pool->returned, sb) == 0;
    pthread_cond_signal(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    if (!kept)
        cloche_sandbox_free(sb);
}

size_t cloche_pool_ready(cloche_pool *pool) {
    if (!pool)
        return 0;
    pthread_mutex_lock(&pool->lock);
    size_t n = pool->ready.count;
    pthread_mutex_unlock(&pool->lock);
    return n;
}

void cloche_pool_free(cloche_pool *pool) {
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->stop = 1;
    pthread_cond_signal(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    pthread_join(pool->filler, NULL);
    list_free(&pool->ready);
    list_free(&pool->returned);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->lock);
    free(pool);
}
