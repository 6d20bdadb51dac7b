/*
 * Epoch ticker. Owns one thread per engine. Invariant: the thread only
 * increments the epoch while `active` > 0, so an idle process costs no
 * wake-ups. Never touches a store: deadlines live in the stores.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "cloche.h"
#include "ticker.h"

struct cloche__ticker {
    wasm_engine_t *engine;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    unsigned active;
    int stop;
};

static void *ticker_main(void *arg) {
    cloche__ticker *t = arg;
    const struct timespec tick = {0, (long)CLOCHE__TICK_NS};
    pthread_mutex_lock(&t->lock);
    while (!t->stop) {
        if (t->active == 0) {
            pthread_cond_wait(&t->wake, &t->lock);
            continue;
        }
        pthread_mutex_unlock(&t->lock);
        nanosleep(&tick, NULL);
        wasmtime_engine_increment_epoch(t->engine);
        pthread_mutex_lock(&t->lock);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

int cloche__ticker_start(cloche__ticker **out, wasm_engine_t *engine) {
    cloche__ticker *t = calloc(1, sizeof *t);
    if (!t)
        return CLOCHE_ENOMEM;
    t->engine = engine;
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->wake, NULL);
    if (pthread_create(&t->thread, NULL, ticker_main, t) != 0) {
        pthread_cond_destroy(&t->wake);
        pthread_mutex_destroy(&t->lock);
        free(t);
        return CLOCHE_ENOMEM;
    }
    *out = t;
    return 0;
}

void cloche__ticker_stop(cloche__ticker *t) {
    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    t->stop = 1;
    pthread_cond_signal(&t->wake);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->thread, NULL);
    pthread_cond_destroy(&t->wake);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

void cloche__ticker_enter(cloche__ticker *t) {
    pthread_mutex_lock(&t->lock);
    if (t->active++ == 0)
        pthread_cond_signal(&t->wake);
    pthread_mutex_unlock(&t->lock);
}

void cloche__ticker_leave(cloche__ticker *t) {
    pthread_mutex_lock(&t->lock);
    t->active--;
    pthread_mutex_unlock(&t->lock);
}
