/*
 * Host mounts from the sandbox options, and folder packages. The options'
 * strings are copied once; the mounts themselves live in the VFS, which is
 * rebuilt with every instance, so they are applied again at each reset
 * (the host path is re-opened then: a folder replaced on the host since is
 * what the guest sees next).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MOUNTS_MAX 64

void cloche__mounts_free(cloche_sandbox *sb) {
    for (size_t i = 0; i < sb->nmounts; i++) {
        free(sb->mounts[i].host_path);
        free(sb->mounts[i].guest_path);
    }
    free(sb->mounts);
    sb->mounts = NULL;
    sb->nmounts = 0;
}

int cloche__mounts_copy(cloche_sandbox *sb, const cloche_mount *m, size_t n) {
    if (n == 0)
        return 0;
    if (!m || n > MOUNTS_MAX)
        return cloche__fail(sb, CLOCHE_EINVAL, "at most %d mounts", MOUNTS_MAX);
    if (!(sb->mounts = calloc(n, sizeof *sb->mounts)))
        return cloche__fail(sb, CLOCHE_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (!m[i].host_path || !m[i].host_path[0] || !m[i].guest_path ||
            m[i].guest_path[0] != '/')
            return cloche__fail(sb, CLOCHE_EINVAL,
                                "mount %zu: needs a host path and an "
                                "absolute guest path", i);
        cloche__mount *c = &sb->mounts[sb->nmounts++];
        c->readonly = m[i].readonly != 0;
        if (!(c->host_path = strdup(m[i].host_path)) ||
            !(c->guest_path = strdup(m[i].guest_path)))
            return cloche__fail(sb, CLOCHE_ENOMEM, "out of memory");
    }
    return 0;
}

/* A failed mount as a public status with a message naming both paths. */
static int mount_failed(cloche_sandbox *sb, int err, const char *host,
                        const char *guest) {
    int status = err == CLOCHE__ENOENT   ? CLOCHE_ENOTFOUND
                 : err == CLOCHE__ENOMEM ? CLOCHE_ENOMEM
                 : err == CLOCHE__EACCES || err == CLOCHE__EMFILE
                     ? CLOCHE_EIO
                     : CLOCHE_EINVAL;
    return cloche__fail(sb, status, "cannot mount %s at %s: %s", host, guest,
                        cloche__status_message(err));
}

int cloche__mounts_apply(cloche_sandbox *sb) {
    for (size_t i = 0; i < sb->nmounts; i++) {
        const cloche__mount *m = &sb->mounts[i];
        int err = cloche__vfs_mount(sb->vfs, m->guest_path, m->host_path,
                                    m->readonly);
        if (err)
            return mount_failed(sb, err, m->host_path, m->guest_path);
    }
    return 0;
}

int cloche__package_mount(cloche_sandbox *sb, const cloche__package *p) {
    char path[512];
    snprintf(path, sizeof path, "/packages/%s", p->name);
    int err = cloche__vfs_mount(sb->vfs, path, p->host_dir, 1);
    return err ? mount_failed(sb, err, p->host_dir, path) : 0;
}
