/*
 * fuzz_vfs_model.c - the VFS path operations against a model. See
 * fuzz/README.md.
 *
 * The model is a flat table of canonical paths ("/a/b") with their type
 * and file bytes; paths are resolved in it step by step with the rules of
 * cloche__vfs_lookup (empty and "." skipped, ".." to the parent and never
 * above the root, a name under a file is ENOTDIR). The input is a sequence
 * of operations - mkdir, create, unlink, rmdir, rename, write, lookup -
 * on paths made of "a", "b", "c", ".", ".." and "r" (a read-only folder),
 * with or without a leading or trailing slash and doubled slashes, from
 * the root or from a folder. After each operation: the VFS succeeded
 * exactly when the model says it must, and the VFS tree (listed through
 * cloche__vfs_dir_next) equals the model, file bytes included.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfs/vfs.h"
#include "vfs/vfs_alloc.h"

#define MAX_ENTRIES 256
#define MAX_PATH 96
#define MAX_DATA 512

static void check(int ok)
{
    if (!ok)
        abort();
}

typedef struct entry {
    char path[MAX_PATH]; /* canonical: "/" or "/a/b" */
    int dir;
    uint8_t data[MAX_DATA];
    size_t len;
} entry;

typedef struct model {
    entry e[MAX_ENTRIES];
    size_t n;
} model;

static entry *find(model *m, const char *path)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->e[i].path, path) == 0)
            return &m->e[i];
    return NULL;
}

static void join(char *out, const char *dir, const char *name)
{
    size_t dl = strlen(dir), nl = strlen(name);
    int slash = strcmp(dir, "/") != 0;
    check(dl + (size_t)slash + nl < MAX_PATH);
    memmove(out, dir, dl);
    if (slash)
        out[dl] = '/';
    memcpy(out + dl + (size_t)slash, name, nl + 1);
}

static void parent_of(char *out, const char *path)
{
    snprintf(out, MAX_PATH, "%s", path);
    char *slash = strrchr(out, '/');
    if (slash == out)
        out[1] = '\0';
    else if (slash)
        *slash = '\0';
}

static int under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == 0);
}

/* /r is marked read-only (its entries cannot change), and so is the file
 * /r/a (its bytes cannot); the mark is not inherited. */
static int read_only(const char *dir)
{
    return strcmp(dir, "/r") == 0;
}

static int empty_dir(model *m, const char *path)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->e[i].path, path) != 0 && under(m->e[i].path, path) &&
            strcmp(path, "/") != 0)
            return 0;
    return 1;
}

static void add(model *m, const char *path, int dir)
{
    check(m->n < MAX_ENTRIES);
    entry *e = &m->e[m->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->path, sizeof e->path, "%s", path);
    e->dir = dir;
}

static void drop(model *m, entry *e)
{
    *e = m->e[--m->n];
}

/* ---- paths --------------------------------------------------------------- */

static const char *const COMPONENTS[] = {"a", "b", "c", ".", "..", "r", ""};

typedef struct vpath {
    char text[MAX_PATH];
    const char *comp[6];
    size_t n;
    int absolute, trailing;
} vpath;

typedef struct input {
    const uint8_t *p;
    size_t len, at;
} input;

static uint8_t byte(input *in)
{
    return in->at < in->len ? in->p[in->at++] : 0;
}

/* A path whose last component is a plain name (a, b or c). */
static void make_path(vpath *p, input *in)
{
    uint8_t shape = byte(in);
    p->n = 1 + shape % 4u;
    p->absolute = (shape >> 2) & 1;
    p->trailing = (shape >> 3) & 1;
    size_t at = 0;
    if (p->absolute)
        p->text[at++] = '/';
    for (size_t i = 0; i < p->n; i++) {
        uint8_t c = byte(in);
        p->comp[i] = i + 1 < p->n ? COMPONENTS[c % 7u] : COMPONENTS[c % 3u];
        size_t k = strlen(p->comp[i]);
        memcpy(p->text + at, p->comp[i], k);
        at += k;
        if (i + 1 < p->n)
            p->text[at++] = '/';
    }
    if (p->trailing)
        p->text[at++] = '/';
    p->text[at] = '\0';
    p->absolute = p->text[0] == '/'; /* an empty first component too */
}

/*
 * Resolve all but the last component from base in the model. 0 and the
 * parent folder, or -1 (some component missing, or a file).
 */
static int model_parent(model *m, const char *base, const vpath *p,
                        char *parent)
{
    snprintf(parent, MAX_PATH, "%s", p->absolute ? "/" : base);
    for (size_t i = 0; i + 1 < p->n; i++) {
        const char *c = p->comp[i];
        if (c[0] == '\0' || strcmp(c, ".") == 0)
            continue;
        if (strcmp(c, "..") == 0) {
            char up[MAX_PATH];
            parent_of(up, parent);
            snprintf(parent, MAX_PATH, "%s", up);
            continue;
        }
        char next[MAX_PATH];
        join(next, parent, c);
        entry *e = find(m, next);
        if (!e || !e->dir)
            return -1;
        snprintf(parent, MAX_PATH, "%s", next);
    }
    return 0;
}

/* The target of p: 0 and its canonical path, or -1. */
static int model_target(model *m, const char *base, const vpath *p,
                        char *target)
{
    char parent[MAX_PATH];
    if (model_parent(m, base, p, parent) != 0)
        return -1;
    join(target, parent, p->comp[p->n - 1]);
    return 0;
}

/* ---- the operations ------------------------------------------------------- */

typedef struct world {
    model m;
    cloche__vfs *vfs;
    cloche__vfs_node *root;
    cloche__vfs_node *base; /* NULL: the root */
    char base_path[MAX_PATH];
} world;

/* The folder relative paths start from. */
static cloche__vfs_node *B(const world *w)
{
    return w->base ? w->base : w->root;
}

static int op_mkdir(world *w, const vpath *p)
{
    char t[MAX_PATH], par[MAX_PATH];
    int ok = model_target(&w->m, w->base_path, p, t) == 0 && !find(&w->m, t);
    if (ok) {
        parent_of(par, t);
        ok = !read_only(par);
    }
    int rc = cloche__vfs_mkdir(w->vfs, B(w), p->text, strlen(p->text));
    check((rc == 0) == ok);
    if (ok)
        add(&w->m, t, 1);
    return rc;
}

static int op_create(world *w, const vpath *p, int excl)
{
    char t[MAX_PATH], par[MAX_PATH];
    int ok = model_target(&w->m, w->base_path, p, t) == 0;
    entry *e = ok ? find(&w->m, t) : NULL;
    if (ok) {
        parent_of(par, t);
        ok = !read_only(par) && !p->trailing &&
             (e ? !e->dir && !excl : 1);
    }
    cloche__vfs_node *n = NULL;
    unsigned flags = CLOCHE__VFS_O_CREAT | CLOCHE__VFS_O_WRITE |
                     (excl ? CLOCHE__VFS_O_EXCL : 0);
    int rc = cloche__vfs_open(&n, w->vfs, B(w), p->text, strlen(p->text),
                              flags);
    check((rc == 0) == ok);
    if (n)
        cloche__vfs_node_unref(n);
    if (ok && !e)
        add(&w->m, t, 0);
    return rc;
}

static int op_remove(world *w, const vpath *p, int dir)
{
    char t[MAX_PATH], par[MAX_PATH];
    int ok = model_target(&w->m, w->base_path, p, t) == 0;
    if (ok && under(w->base_path, t))
        return 0; /* the base folder or one above it: skipped */
    entry *e = ok ? find(&w->m, t) : NULL;
    ok = e && e->dir == dir && (dir || !p->trailing);
    if (ok) {
        parent_of(par, t);
        ok = !read_only(par) && (!dir || empty_dir(&w->m, t));
    }
    int rc = dir ? cloche__vfs_rmdir(w->vfs, B(w), p->text, strlen(p->text))
                 : cloche__vfs_unlink(w->vfs, B(w), p->text,
                                      strlen(p->text));
    check((rc == 0) == ok);
    if (ok)
        drop(&w->m, e);
    return rc;
}

static void move_tree(model *m, const char *from, const char *to)
{
    size_t fl = strlen(from);
    for (size_t i = 0; i < m->n; i++) {
        if (!under(m->e[i].path, from))
            continue;
        char moved[MAX_PATH * 2];
        snprintf(moved, sizeof moved, "%s%s", to, m->e[i].path + fl);
        check(strlen(moved) < MAX_PATH);
        snprintf(m->e[i].path, MAX_PATH, "%s", moved);
    }
}

static int rename_ok(model *m, const char *s, const char *d, const vpath *ps,
                     const vpath *pd)
{
    entry *se = find(m, s), *de = find(m, d);
    char sp[MAX_PATH], dp[MAX_PATH];
    if (!se)
        return 0;
    parent_of(sp, s);
    parent_of(dp, d);
    if (!se->dir && (ps->trailing || pd->trailing))
        return 0;
    if (strcmp(s, d) == 0)
        return 1; /* a no-op, even in a read-only folder (as POSIX) */
    if (read_only(sp) || read_only(dp))
        return 0;
    if (se->dir && under(d, s))
        return 0; /* into itself */
    if (de && de->dir != se->dir)
        return 0;
    if (de && de->dir && !empty_dir(m, d))
        return 0;
    return 1;
}

static int op_rename(world *w, const vpath *ps, const vpath *pd)
{
    char s[MAX_PATH], d[MAX_PATH];
    int ok = model_target(&w->m, w->base_path, ps, s) == 0 &&
             model_target(&w->m, w->base_path, pd, d) == 0 &&
             rename_ok(&w->m, s, d, ps, pd);
    /* the base folder, or a folder above it, moving: its path changes
     * under us; keep the model simple and skip such renames */
    int skip = ok && (under(w->base_path, s) || under(w->base_path, d));
    if (skip)
        return 0;
    int rc = cloche__vfs_rename(w->vfs, B(w), ps->text, strlen(ps->text),
                                B(w), pd->text, strlen(pd->text));
    check((rc == 0) == ok);
    if (ok && strcmp(s, d) != 0) {
        entry *de = find(&w->m, d);
        if (de)
            drop(&w->m, de);
        move_tree(&w->m, s, d);
    }
    return rc;
}

static int op_write(world *w, const vpath *p, input *in)
{
    char t[MAX_PATH];
    int ok = model_target(&w->m, w->base_path, p, t) == 0;
    entry *e = ok ? find(&w->m, t) : NULL;
    ok = e && !e->dir && !p->trailing && strcmp(t, "/r/a") != 0;
    size_t off = byte(in) % 200u, len = byte(in) % 64u;
    uint8_t buf[64];
    for (size_t i = 0; i < len; i++)
        buf[i] = byte(in);
    cloche__vfs_node *n = NULL;
    int rc = cloche__vfs_open(&n, w->vfs, B(w), p->text, strlen(p->text),
                              CLOCHE__VFS_O_WRITE);
    check((rc == 0) == ok);
    if (rc == 0) {
        check(cloche__vfs_file_write(n, off, buf, len) == 0);
        cloche__vfs_node_unref(n);
        if (len) {
            if (off > e->len)
                memset(e->data + e->len, 0, off - e->len);
            memcpy(e->data + off, buf, len);
            if (off + len > e->len)
                e->len = off + len;
        }
    }
    return rc;
}

static void op_lookup(world *w, const vpath *p)
{
    char t[MAX_PATH];
    int ok = model_target(&w->m, w->base_path, p, t) == 0;
    entry *e = ok ? find(&w->m, t) : NULL;
    ok = e && (e->dir || !p->trailing);
    cloche__vfs_node *n = NULL;
    int rc = cloche__vfs_lookup(&n, w->vfs, B(w), p->text, strlen(p->text));
    check((rc == 0) == ok);
    if (n) {
        check((cloche__vfs_node_type(n) == CLOCHE__VFS_DIR) == e->dir);
        cloche__vfs_node_unref(n);
    }
}

/* Pick a new base folder among the model's folders. */
static void op_base(world *w, input *in)
{
    size_t dirs = 0;
    for (size_t i = 0; i < w->m.n; i++)
        dirs += (size_t)w->m.e[i].dir;
    size_t k = byte(in) % (dirs + 1);
    if (w->base)
        cloche__vfs_node_unref(w->base);
    w->base = NULL;
    snprintf(w->base_path, MAX_PATH, "/");
    for (size_t i = 0; i < w->m.n && k; i++) {
        if (w->m.e[i].dir && --k == 0) {
            snprintf(w->base_path, MAX_PATH, "%s", w->m.e[i].path);
            check(cloche__vfs_lookup(&w->base, w->vfs, NULL, w->base_path,
                                     strlen(w->base_path)) == 0);
        }
    }
}

/* ---- the tree equals the model --------------------------------------------- */

static size_t compare_tree(world *w, const cloche__vfs_node *dir,
                           const char *path)
{
    size_t seen = 0;
    cloche__vfs_dirent d;
    for (uint64_t cookie = 2; cloche__vfs_dir_next(&d, dir, cookie) == 1;
         cookie = d.next) {
        char name[64], child[MAX_PATH];
        check(d.name_len < sizeof name);
        memcpy(name, d.name, d.name_len);
        name[d.name_len] = '\0';
        join(child, path, name);
        entry *e = find(&w->m, child);
        check(e != NULL);
        cloche__vfs_node *n = NULL;
        check(cloche__vfs_lookup(&n, w->vfs, NULL, child, strlen(child)) == 0);
        check((cloche__vfs_node_type(n) == CLOCHE__VFS_DIR) == e->dir);
        if (e->dir) {
            seen += compare_tree(w, n, child);
        } else {
            uint8_t buf[MAX_DATA];
            size_t got = 0;
            check(cloche__vfs_file_size(n) == e->len);
            cloche__vfs_file_read(&got, n, 0, buf, sizeof buf);
            check(got == e->len && memcmp(buf, e->data, got) == 0);
        }
        cloche__vfs_node_unref(n);
        seen++;
    }
    return seen;
}

static void compare(world *w)
{
    cloche__vfs_node *root = NULL;
    check(cloche__vfs_lookup(&root, w->vfs, NULL, "/", 1) == 0);
    check(compare_tree(w, root, "/") + 1 == w->m.n); /* + the root itself */
    cloche__vfs_node_unref(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static world w;
    input in = {data, size, 0};
    long live = cloche__alloc_live();
    memset(&w, 0, sizeof w);
    cloche__vfs_limits lim = {1u << 22, 100000, 0};
    check(cloche__vfs_new(&w.vfs, &lim) == 0);
    check(cloche__vfs_mkdir_p(w.vfs, "/r/d", 0) == 0);
    check(cloche__vfs_write_file(w.vfs, "/r/a", (const uint8_t *)"ro", 2) == 0);
    check(cloche__vfs_set_readonly(w.vfs, "/r", 1) == 0);
    check(cloche__vfs_set_readonly(w.vfs, "/r/a", 1) == 0);
    check(cloche__vfs_lookup(&w.root, w.vfs, NULL, "/", 1) == 0);
    add(&w.m, "/", 1);
    add(&w.m, "/r", 1);
    add(&w.m, "/r/d", 1);
    add(&w.m, "/r/a", 0);
    memcpy(find(&w.m, "/r/a")->data, "ro", 2);
    find(&w.m, "/r/a")->len = 2;
    snprintf(w.base_path, MAX_PATH, "/");
    for (int ops = 0; ops < 200 && in.at < in.len && w.m.n < MAX_ENTRIES - 8;
         ops++) {
        vpath a, b;
        uint8_t op = byte(&in);
        make_path(&a, &in);
        switch (op % 9u) {
        case 0:
            (void)op_mkdir(&w, &a);
            break;
        case 1:
        case 2:
            (void)op_create(&w, &a, op % 9u == 2);
            break;
        case 3:
            (void)op_remove(&w, &a, 0);
            break;
        case 4:
            (void)op_remove(&w, &a, 1);
            break;
        case 5:
            make_path(&b, &in);
            (void)op_rename(&w, &a, &b);
            break;
        case 6:
            (void)op_write(&w, &a, &in);
            break;
        case 7:
            op_lookup(&w, &a);
            break;
        default:
            op_base(&w, &in);
            break;
        }
        if (!find(&w.m, w.base_path))
            op_base(&w, &in); /* the base folder went: back to the root */
        compare(&w);
    }
    if (w.base)
        cloche__vfs_node_unref(w.base);
    cloche__vfs_node_unref(w.root);
    cloche__vfs_free(w.vfs);
    check(cloche__alloc_live() == live);
    return 0;
}
