/*
 * Worker pool. Invariants: the job list is a FIFO guarded by `lock`, and
 * `queued` counts its entries; a worker is started when more jobs are
 * queued than workers are idle, up to `max`. Workers exit only when the pool is freed, after the queue
 * drains. Worker stacks are large enough to call into a sandbox.
 */
#include <pthread.h>
#include <stdlib.h>

#include "cloche.h"
#include "pool.h"

#define WORKER_STACK (8u * 1024u * 1024u)

typedef struct job {
    cloche__pool_fn fn;
    void *arg;
    struct job *next;
} job;

struct cloche__pool {
    pthread_mutex_t lock;
    pthread_cond_t work;
    job *head, *tail;
    pthread_t *threads;
    size_t max, started, idle, queued;
    int stopping;
};

static void *worker(void *arg) {
    cloche__pool *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->head && !p->stopping) {
            p->idle++;
            pthread_cond_wait(&p->work, &p->lock);
            p->idle--;
        }
        if (!p->head)
            break; /* stopping and drained */
        job *j = p->head;
        p->head = j->next;
        p->queued--;
        if (!p->head)
            p->tail = NULL;
        pthread_mutex_unlock(&p->lock);
        j->fn(j->arg);
        free(j);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int cloche__pool_new(cloche__pool **out, size_t max_threads) {
    cloche__pool *p = calloc(1, sizeof *p);
    if (!p || !(p->threads = calloc(max_threads, sizeof *p->threads))) {
        free(p);
        return CLOCHE_ENOMEM;
    }
    p->max = max_threads;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    *out = p;
    return 0;
}

/* Called with the lock held: add a worker if the idle ones cannot take
 * every queued job. */
static void maybe_start_worker(cloche__pool *p) {
    if (p->queued <= p->idle || p->started >= p->max)
        return;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, WORKER_STACK);
    if (pthread_create(&p->threads[p->started], &attr, worker, p) == 0)
        p->started++;
    pthread_attr_destroy(&attr);
}

int cloche__pool_submit(cloche__pool *p, cloche__pool_fn fn, void *arg) {
    job *j = malloc(sizeof *j);
    if (!j)
        return CLOCHE_ENOMEM;
    j->fn = fn;
    j->arg = arg;
    j->next = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    p->queued++;
    maybe_start_worker(p);
    int ok = p->started > 0;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->lock);
    if (!ok) { /* no thread could be created: run it here */
        cloche__pool_fn f = fn;
        pthread_mutex_lock(&p->lock);
        p->head = p->tail = NULL;
        p->queued = 0;
        pthread_mutex_unlock(&p->lock);
        free(j);
        f(arg);
    }
    return 0;
}

void cloche__pool_free(cloche__pool *p) {
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (size_t i = 0; i < p->started; i++)
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->lock);
    free(p->threads);
    free(p);
}
