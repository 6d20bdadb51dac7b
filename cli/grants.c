/*
 * The doors `cloche run` may open into the sandbox: host mounts, packages,
 * network access and secrets. Nothing is granted unless asked for on the
 * command line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int grow(void **items, size_t *n, size_t size) {
    void *grown = realloc(*items, (*n + 1) * size);
    if (!grown)
        return -1;
    *items = grown;
    return 0;
}

/* HOST:GUEST[:ro|:rw], read-only unless ":rw". The host path may itself
 * contain ':' (the guest path is what follows the last one). */
static int parse_mount(cli_grants *g, const char *spec) {
    char *copy = strdup(spec);
    if (!copy || grow((void **)&g->mounts, &g->nmounts, sizeof *g->mounts)) {
        free(copy);
        return -1;
    }
    int readonly = 1;
    char *colon = strrchr(copy, ':');
    if (colon && (strcmp(colon, ":ro") == 0 || strcmp(colon, ":rw") == 0)) {
        readonly = colon[2] == 'o';
        *colon = 0;
        colon = strrchr(copy, ':');
    }
    if (!colon || colon == copy || colon[1] != '/') {
        free(copy);
        fprintf(stderr, "cloche run: bad --mount %s (want HOST:GUEST[:ro|:rw]"
                        " with an absolute GUEST)\n", spec);
        return -1;
    }
    *colon = 0;
    cloche_mount *m = &g->mounts[g->nmounts++];
    m->host_path = copy; /* the guest path shares this allocation */
    m->guest_path = colon + 1;
    m->readonly = readonly;
    return 0;
}

/* HOST[:PORT], [V6]:PORT or a bare IPv6 literal, into r (host malloc'd). */
static int parse_rule(cloche_net_rule *r, const char *spec) {
    const char *colon = strrchr(spec, ':');
    size_t host_len = strlen(spec);
    unsigned long port = 0;
    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (!close || (close[1] && close[1] != ':'))
            return -1;
        spec++;
        host_len = (size_t)(close - spec);
        colon = close[1] ? close + 1 : NULL;
    } else if (colon && strchr(spec, ':') != colon) {
        colon = NULL; /* several ':' without brackets: an IPv6 literal */
    } else if (colon) {
        host_len = (size_t)(colon - spec);
    }
    if (colon) {
        char *end;
        errno = 0;
        port = strtoul(colon + 1, &end, 10);
        if (errno || *end || end == colon + 1 || port == 0 || port > 65535)
            return -1;
    }
    if (host_len == 0 || !(r->host = strndup(spec, host_len)))
        return -1;
    r->port = (uint16_t)port;
    return 0;
}

static int add_rule(cloche_net_rule **rules, size_t *n, const char *spec) {
    if (grow((void **)rules, n, sizeof **rules) || parse_rule(&(*rules)[*n], spec))
        return -1;
    (*n)++;
    return 0;
}

/* NAME=VALUE@HOST[,HOST...] (the value is everything up to the last '@'),
 * or NAME@HOST[,HOST...] to take the value from the host's environment
 * variable NAME (it then stays out of `ps`). */
static int parse_secret(cli_grants *g, const char *spec) {
    const char *at = strrchr(spec, '@'), *eq = strchr(spec, '=');
    if (!at || at == spec || (eq && eq > at))
        eq = NULL;
    size_t name_len = (size_t)((eq ? eq : at ? at : spec) - spec);
    if (!at || name_len == 0 ||
        grow((void **)&g->secrets, &g->nsecrets, sizeof *g->secrets))
        return -1;
    cloche_secret *s = &g->secrets[g->nsecrets];
    memset(s, 0, sizeof *s);
    char *hosts = strdup(at + 1);
    s->name = strndup(spec, name_len);
    const char *from_env = (!eq && s->name) ? getenv(s->name) : NULL;
    if (eq)
        s->value = strndup(eq + 1, (size_t)(at - eq - 1));
    else if (from_env)
        s->value = strdup(from_env);
    g->nsecrets++; /* freed with the grants from here on */
    if (!hosts || !s->name || !s->value) {
        free(hosts);
        return -1;
    }
    int rc = 0;
    char *save = NULL;
    for (char *h = strtok_r(hosts, ",", &save); h && rc == 0;
         h = strtok_r(NULL, ",", &save))
        rc = add_rule((cloche_net_rule **)&s->hosts, &s->host_count, h);
    free(hosts);
    return rc == 0 && s->host_count > 0 ? 0 : -1;
}

static int net_grant(cli_grants *g, const char *opt, const char *val) {
    int rc;
    if (strcmp(opt, "--allow-net") == 0)
        rc = add_rule(&g->allow, &g->nallow, val);
    else if (strcmp(opt, "--secret") == 0)
        rc = parse_secret(g, val);
    else if (strcmp(opt, "--net-ca") == 0)
        g->net.extra_ca_file = val, rc = 0;
    else
        return 0;
    if (rc != 0)
        fprintf(stderr, "cloche run: bad %s %s (%s)\n", opt, val,
                strcmp(opt, "--secret") == 0 ? "want NAME[=VALUE]@HOST[,HOST]"
                                             : "want HOST[:PORT]");
    g->use_net = 1;
    return rc == 0 ? 1 : -1;
}

int cli_parse_grant(cli_grants *g, const char *opt, const char *val) {
    if (strcmp(opt, "--mount") == 0)
        return parse_mount(g, val) == 0 ? 1 : -1;
    if (strcmp(opt, "--package") == 0) {
        if (grow((void **)&g->packages, &g->npackages, sizeof *g->packages))
            return -1;
        g->packages[g->npackages++] = val;
        return 1;
    }
    return net_grant(g, opt, val);
}

void cli_grants_to_options(cli_grants *g, cloche_sandbox_options *o) {
    o->mounts = g->mounts;
    o->mount_count = g->nmounts;
    if (!g->use_net)
        return;
    g->net.allow = g->allow;
    g->net.allow_count = g->nallow;
    g->net.secrets = g->secrets;
    g->net.secret_count = g->nsecrets;
    o->network = &g->net;
}

int cli_grants_to_sandbox(const cli_grants *g, cloche_sandbox *sb) {
    for (size_t i = 0; i < g->npackages; i++) {
        int rc = cloche_sandbox_add_package(sb, g->packages[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void cli_grants_free(cli_grants *g) {
    for (size_t i = 0; i < g->nmounts; i++)
        free((char *)g->mounts[i].host_path);
    free(g->mounts);
    free(g->packages);
    for (size_t i = 0; i < g->nallow; i++)
        free((char *)g->allow[i].host);
    free(g->allow);
    for (size_t i = 0; i < g->nsecrets; i++) {
        cloche_secret *s = &g->secrets[i];
        for (size_t k = 0; k < s->host_count; k++)
            free((char *)s->hosts[k].host);
        free((void *)s->hosts);
        free((char *)s->name);
        free((char *)s->value);
    }
    free(g->secrets);
    memset(g, 0, sizeof *g);
}
