/*
 * Files in and out of a sandbox for the embedder (bytes in, bytes out),
 * and pure-Python packages served from the sandbox's VFS. The embedder's
 * paths go through the same VFS resolver as the guest's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

static int map_vfs_error(cloche_sandbox *sb, int err, const char *path) {
    switch (err) {
    case 0:
        return 0;
    case CLOCHE__ENOENT:
        return cloche__fail(sb, CLOCHE_ENOTFOUND, "%s: no such file", path);
    case CLOCHE__ENOSPC:
    case CLOCHE__EDQUOT:
        return cloche__fail(sb, CLOCHE_ETOOBIG, "%s: over the VFS quota", path);
    case CLOCHE__ENOMEM:
        return cloche__fail(sb, CLOCHE_ENOMEM, "out of memory");
    default:
        return cloche__fail(sb, CLOCHE_EINVAL, "%s: %s", path,
                            cloche__status_message(err));
    }
}

/* Enter with a usable instance (the VFS lives with the instance). */
static int enter(cloche_sandbox *sb) {
    int rc = cloche__acquire(sb, -1);
    if (rc == 0 && (rc = cloche__ensure_instance(sb)) != 0)
        cloche__release(sb);
    return rc;
}

/* 1 if path has no empty, "." or ".." component. */
static int plain_components(const char *path) {
    for (const char *p = path; *p;) {
        const char *slash = strchr(p + 1, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 1 || (n == 2 && p[1] == '.') ||
            (n == 3 && p[1] == '.' && p[2] == '.'))
            return 0;
        p += n;
    }
    return 1;
}

static int under(const char *path, const char *dir) {
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && path[n] == '/' && path[n + 1];
}

/* The embedder writes only inside the writable folders (data_dir, /tmp),
 * never over the stdlib image or packages. */
static int writable_path(const cloche_sandbox *sb, const char *path) {
    return path[0] == '/' && plain_components(path) &&
           (under(path, sb->data_dir) || under(path, "/tmp"));
}

int cloche_sandbox_write_file(cloche_sandbox *sb, const char *path,
                              const void *data, size_t len) {
    if (!sb || !path || (!data && len))
        return cloche__fail(sb, CLOCHE_EINVAL, "NULL argument");
    if (!writable_path(sb, path))
        return cloche__fail(sb, CLOCHE_EINVAL,
                            "%s: files go under %s or /tmp", path,
                            sb->data_dir);
    int rc = enter(sb);
    if (rc != 0)
        return rc;
    rc = map_vfs_error(sb, cloche__vfs_write_file(sb->vfs, path, data, len),
                       path);
    cloche__release(sb);
    return rc;
}

int cloche_sandbox_read_file(void **out, size_t *len, cloche_sandbox *sb,
                             const char *path) {
    if (!out || !len || !sb || !path)
        return cloche__fail(sb, CLOCHE_EINVAL, "NULL argument");
    *out = NULL;
    *len = 0;
    int rc = enter(sb);
    if (rc != 0)
        return rc;
    const uint8_t *data = NULL;
    size_t n = 0;
    rc = map_vfs_error(sb, cloche__vfs_read_file(&data, &n, sb->vfs, path),
                       path);
    char *copy = NULL;
    if (rc == 0 && cloche__scrub_copy(sb, data, n, &copy, len) != 0)
        rc = cloche__fail(sb, CLOCHE_ENOMEM, "out of memory");
    *out = copy; /* secrets' values never leave: scrubbed */
    cloche__release(sb);
    return rc;
}

#define PACKAGE_MAX (256u * 1024u * 1024u)

static int read_host_file(const char *path, uint8_t **out, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return CLOCHE_ENOTFOUND;
    int rc = CLOCHE_EIO;
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (size >= 0 && (unsigned long)size > PACKAGE_MAX)
        rc = CLOCHE_ETOOBIG;
    else if (size >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        uint8_t *buf = malloc(size ? (size_t)size : 1);
        if (!buf)
            rc = CLOCHE_ENOMEM;
        else if (fread(buf, 1, (size_t)size, f) != (size_t)size)
            free(buf);
        else {
            *out = buf;
            *len = (size_t)size;
            rc = 0;
        }
    }
    fclose(f);
    return rc;
}

/* A package's name in /packages: the file name of a .whl or .zip, or the
 * folder's name; plain (no '/', not starting with '.'). */
static int package_name(char *out, size_t cap, const char *host_path,
                        int is_dir) {
    size_t end = strlen(host_path);
    while (is_dir && end > 1 && host_path[end - 1] == '/')
        end--;
    size_t start = end;
    while (start > 0 && host_path[start - 1] != '/')
        start--;
    size_t n = end - start;
    if (n == 0 || n >= cap || n > 200 || host_path[start] == '.')
        return 0;
    memcpy(out, host_path + start, n);
    out[n] = 0;
    return is_dir || (n >= 5 && (strcmp(out + n - 4, ".whl") == 0 ||
                                 strcmp(out + n - 4, ".zip") == 0));
}

/* Fill a package from the host: a folder is mounted later (by path), a
 * wheel or zip is read now. */
static int load_package(cloche__package *p, const char *host_path,
                        int is_dir) {
    if (is_dir)
        return (p->host_dir = strdup(host_path)) ? 0 : CLOCHE_ENOMEM;
    return read_host_file(host_path, &p->data, &p->len);
}

int cloche_sandbox_add_package(cloche_sandbox *sb, const char *host_path) {
    struct stat st;
    char name[256];
    int is_dir = host_path && stat(host_path, &st) == 0 && S_ISDIR(st.st_mode);
    if (!sb || !host_path || !package_name(name, sizeof name, host_path, is_dir))
        return cloche__fail(sb, CLOCHE_EINVAL,
                            "packages are .whl or .zip files or folders");
    int rc = cloche__acquire(sb, -1);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < sb->npackages; i++)
        if (strcmp(sb->packages[i].name, name) == 0) {
            cloche__release(sb);
            return cloche__fail(sb, CLOCHE_EINVAL, "package %s added twice",
                                name);
        }
    cloche__package p = {strdup(name), NULL, 0, NULL};
    cloche__package *grown =
        realloc(sb->packages, (sb->npackages + 1) * sizeof *grown);
    if (grown)
        sb->packages = grown;
    rc = (!p.name || !grown) ? CLOCHE_ENOMEM
                             : load_package(&p, host_path, is_dir);
    if (rc != 0)
        cloche__fail(sb, rc, "cannot add package %s", host_path);
    else if (sb->store)
        rc = cloche__vfs_add_package(sb, &p);
    if (rc == 0) {
        sb->packages[sb->npackages++] = p;
    } else {
        free(p.name);
        free(p.data);
        free(p.host_dir);
    }
    cloche__release(sb);
    return rc;
}
