/*
 * vfs_state_host.c - the host-mount parts of VFS snapshots: an open host
 * object saved by its path below its mount, and re-opened from that path
 * on load.
 *
 * A snapshot never holds host contents or host paths: a mount is a tree
 * record (guest path, kind, read-only flag; vfs_state.c), and an object
 * an fd holds inside a directory mount is an out-of-tree record naming the
 * mount point's node number, the access it was opened with, and its path
 * below the mount (docs/wasi.md, "Snapshots").
 *
 * Invariants of loading (the blob is untrusted): the path is checked to be
 * plain (1-255 byte components, no "." or "..", no empty component, no
 * leading or trailing '/') and is then opened like any guest access
 * (cloche__vfs_host_reopen: from the mount descriptor, no symlink, no
 * other mount, a FIFO or device never opened, nothing created or
 * truncated); write access into a read-only mount is refused. Anything
 * that does not match - missing, another kind, a link - is EINVAL.
 */
#include "vfs/vfs_state.h"

#include "vfs/vfs_int.h"

#define ACC_READ 1u
#define ACC_WRITE 2u

void cloche__vfs_state_put_host(cloche__wbuf *wb, const cloche__vfs_node *n,
                                uint64_t mount_index)
{
    const cloche__vfs_host *h = n->host;
    unsigned acc = ((h->acc & CLOCHE__VFS_O_READ) ? ACC_READ : 0) |
                   ((h->acc & CLOCHE__VFS_O_WRITE) ? ACC_WRITE : 0);
    cloche__wb_var(wb, mount_index);
    cloche__wb_var(wb, acc);
    cloche__wb_var(wb, h->rel_len);
    cloche__wb_bytes(wb, h->rel, h->rel_len);
}

/* A plain relative path: what a host node's rel always is. */
static int plain_rel(const char *rel, size_t len)
{
    if (cloche__vfs_check_path(rel, len) != 0 || rel[0] == '/' ||
        rel[len - 1] == '/')
        return 0;
    size_t i = 0;
    while (i < len) {
        size_t start = i;
        while (i < len && rel[i] != '/')
            i++;
        if (i == start || cloche__vfs_is_dots(rel + start, i - start))
            return 0;
        i++;
    }
    return 1;
}

int cloche__vfs_state_read_host(cloche__vfs_node **out, cloche__rbuf *r,
                                struct cloche__vfs_mnt *m, int type)
{
    char rel[CLOCHE__VFS_PATH_MAX + 1];
    *out = NULL;
    uint64_t acc = cloche__rb_var(r);
    uint64_t len = cloche__rb_var(r);
    const uint8_t *p = cloche__rb_bytes(r, len);
    if (!p || len == 0 || len > CLOCHE__VFS_PATH_MAX ||
        (acc & ~(uint64_t)(ACC_READ | ACC_WRITE)) ||
        (type == CLOCHE__VFS_FILE && acc == 0) ||
        (type == CLOCHE__VFS_DIR && acc != 0) ||
        ((acc & ACC_WRITE) && m->readonly))
        return CLOCHE__EINVAL;
    memcpy(rel, p, (size_t)len);
    rel[len] = '\0';
    if (!plain_rel(rel, (size_t)len))
        return CLOCHE__EINVAL;
    unsigned flags = ((acc & ACC_READ) ? CLOCHE__VFS_O_READ : 0) |
                     ((acc & ACC_WRITE) ? CLOCHE__VFS_O_WRITE : 0);
    int rc = cloche__vfs_host_reopen(out, m, rel, (size_t)len, type, flags);
    /* Host trouble (gone, replaced, refused) means the blob does not
     * match this host: EINVAL. Resource errors stay what they are. */
    if (rc && rc != CLOCHE__ENOMEM && rc != CLOCHE__EMFILE)
        rc = CLOCHE__EINVAL;
    return rc;
}
