/*
 * vfs_int.h - VFS internals shared by the files of src/vfs (the tree,
 * the resolver, the embedder helpers, snapshots and host mounts).
 * Nothing outside src/vfs includes this file.
 */
#ifndef CLOCHE_VFS_INT_H
#define CLOCHE_VFS_INT_H

#include "vfs/vfs.h"

/* Node flags. */
#define CLOCHE__VFS_F_RO 0x1u       /* read-only mark (guest writes: EROFS) */
#define CLOCHE__VFS_F_BORROWED 0x2u /* file data is borrowed, never freed */
#define CLOCHE__VFS_F_CHARGED 0x4u  /* node counted in nodes_used */
#define CLOCHE__VFS_F_MOUNT 0x8u    /* a mount point: host is its mount's root */

/* Largest file size; keeps offsets within int64 and size_t. */
#define CLOCHE__VFS_FILE_MAX                                                   \
    ((uint64_t)INT64_MAX < (uint64_t)SIZE_MAX ? (uint64_t)INT64_MAX            \
                                              : (uint64_t)SIZE_MAX)

/* One directory entry; entries of a directory are kept in creation order
 * (ascending seq), which makes seq a stable readdir cookie. */
typedef struct cloche__vfs_dent {
    char *name; /* owned, not NUL-terminated */
    uint32_t name_len;
    uint64_t seq;
    cloche__vfs_node *node;
} cloche__vfs_dent;

typedef struct cloche__vfs_mnt cloche__vfs_mnt;
typedef struct cloche__vfs_dcache cloche__vfs_dcache;

/* The host side of a node (vfs_mount.c). A mount point (in the tree, flag
 * MOUNT) uses its mount's `root`; every other host node is outside the
 * tree, owns its host part and is listed in vfs->hosts. Host directories
 * hold no descriptor: each access resolves rel again from the mount's
 * descriptor (so a directory fd follows its path, never a directory moved
 * elsewhere by the host). Host files opened for I/O hold their fd. */
typedef struct cloche__vfs_host {
    cloche__vfs_mnt *mnt;
    cloche__vfs_node *node;
    int fd;         /* open regular file, or -1 */
    unsigned acc;   /* CLOCHE__VFS_O_READ / _WRITE the fd was opened with */
    char *rel;      /* below the mount root, NUL-terminated; "" at the root */
    size_t rel_len; /* <= CLOCHE__VFS_PATH_MAX */
    cloche__vfs_dcache *dc; /* readdir buffer (directories), lazily */
    struct cloche__vfs_host *prev, *next; /* vfs->hosts */
} cloche__vfs_host;

struct cloche__vfs_mnt {
    cloche__vfs_host root; /* root.node is the mount point */
    int fd;                /* O_PATH directory, or the regular file */
    int is_dir, readonly;
    uint64_t dev; /* host st_dev of the root (the fallback's XDEV check) */
    uint32_t id;  /* filestat dev of its objects: CLOCHE__VFS_HOST_DEV0 + id */
};

#define CLOCHE__VFS_HOST_DEV0 2u /* dev 1 is the memory tree */

struct cloche__vfs_node {
    cloche__vfs *vfs;
    cloche__vfs_node *parent; /* NULL for the root and for unlinked nodes */
    uint32_t refs;            /* 1 for the tree link + 1 per open handle */
    uint8_t type;             /* enum cloche__vfs_type */
    uint8_t flags;            /* CLOCHE__VFS_F_... */
    uint64_t ino;
    uint64_t atim, mtim, ctim;
    cloche__vfs_host *host; /* NULL for memory nodes */
    union {
        struct {
            cloche__vfs_dent *ents; /* ascending seq */
            uint32_t *by_name;      /* indexes into ents, sorted by name */
            uint32_t n, cap;
            uint32_t nsubdirs;
            uint64_t next_seq;
        } dir;
        struct {
            uint8_t *buf;      /* owned data (NULL when borrowed or empty) */
            const uint8_t *ro; /* borrowed data */
            uint64_t size;
            uint64_t cap;
        } file;
    } u;
};

struct cloche__vfs {
    cloche__vfs_node *root;
    cloche__vfs_limits lim;
    uint64_t bytes_used, nodes_used;
    uint64_t next_ino;
    uint64_t (*now_ns)(void *ud);
    void *now_ud;
    cloche__vfs_mnt **mounts; /* creation order */
    uint32_t nmounts;
    uint32_t nhosts;          /* host nodes alive (CLOCHE__VFS_MAX_HOST_NODES) */
    uint32_t nhost_fds;       /* of them, holding a descriptor (lim) */
    cloche__vfs_host *hosts;  /* their host parts, a doubly linked list */
    uint64_t host_gen; /* bumped by every guest change inside a mount */
};

/* New unlinked node with refs == 0. With CLOCHE__VFS_F_CHARGED in flags the
 * node counts against max_nodes (EDQUOT when full). */
int cloche__vfs_node_new(cloche__vfs_node **out, cloche__vfs *vfs, int type,
                         unsigned flags);
/* Free an unreferenced, unlinked node (a directory must be empty). */
void cloche__vfs_node_destroy(cloche__vfs_node *n);

/* Child named (name, len) or NULL. */
cloche__vfs_node *cloche__vfs_dir_find(const cloche__vfs_node *dir,
                                       const char *name, size_t len);
/* Two-phase insert for callers that must not fail half way (rename):
 * prepare makes room and copies the name (ENOMEM, EDQUOT); link cannot
 * fail and takes ownership of the copy (child->refs++). The name must not
 * be present in dir. */
int cloche__vfs_dir_prepare(char **copy, cloche__vfs_node *dir,
                            const char *name, size_t len);
void cloche__vfs_dir_link(cloche__vfs_node *dir, char *copy, size_t len,
                          cloche__vfs_node *child);
/* prepare + link. */
int cloche__vfs_dir_insert(cloche__vfs_node *dir, const char *name,
                           size_t len, cloche__vfs_node *child);
/* Unlink the entry named (name, len) and return its node; the tree
 * reference passes to the caller. NULL when absent. */
cloche__vfs_node *cloche__vfs_dir_detach(cloche__vfs_node *dir,
                                         const char *name, size_t len);

/* Nonzero when n is in the tree (the root, or has a parent). */
int cloche__vfs_is_linked(const cloche__vfs_node *n);
/* Nonzero when n is dir or lies below dir. */
int cloche__vfs_is_ancestor(const cloche__vfs_node *dir,
                            const cloche__vfs_node *n);

/* Drop owned/borrowed data and make the file empty and owned. */
void cloche__vfs_file_clear(cloche__vfs_node *n);

/* A parsed path: the directory that holds the last component, and it.
 * The directory is either a memory node (dir) or, inside a directory
 * mount, mnt + rel (dir is NULL then): every operation must look at mnt
 * first. */
typedef struct cloche__vfs_leaf {
    cloche__vfs_node *dir; /* borrowed; NULL inside a mount */
    const char *name;      /* into the caller's path; NULL for "" (root) */
    size_t name_len;
    int trailing_slash;
    cloche__vfs_mnt *mnt; /* non-NULL: the directory is rel below mnt */
    size_t rel_len;
    char rel[CLOCHE__VFS_PATH_MAX + 1];
} cloche__vfs_leaf;

/* Check a path against the length, NUL and depth rules; 0 or an error. */
int cloche__vfs_check_path(const char *path, size_t len);
/* One resolution step from directory cur ("." and ".." included);
 * ENOTDIR when cur is not a directory, ENOENT when name is absent. */
int cloche__vfs_step(cloche__vfs_node **out, cloche__vfs_node *cur,
                     const char *name, size_t len);
/* Nonzero for the names "." and "..". */
int cloche__vfs_is_dots(const char *name, size_t len);
/* Resolve all but the last component (see vfs_path.c). */
int cloche__vfs_resolve_leaf(cloche__vfs_leaf *out, cloche__vfs *vfs,
                             cloche__vfs_node *base, const char *path,
                             size_t len);
/* Full resolution; borrowed result (no reference taken). A path that
 * ends inside a mount is CLOCHE__EXDEV (host nodes are not borrowable). */
int cloche__vfs_resolve(cloche__vfs_node **out, cloche__vfs *vfs,
                        cloche__vfs_node *base, const char *path, size_t len);
/* One guest step from a parsed position: like cloche__vfs_step but enters
 * directory mounts and handles ".." inside them (vfs_path.c). */
int cloche__vfs_leaf_step(cloche__vfs_leaf *w, const char *name, size_t len);

/* ---- host mounts: descriptors and nodes (vfs_mount.c) ------------------ */

/* A host errno as a CLOCHE__E... status. */
int cloche__vfs_host_errno(int e);
/* Open rel (relative, no "." or ".." components) below dirfd, never
 * following a symlink (the last component's own link only with
 * O_PATH|O_NOFOLLOW), never leaving dirfd's mount. flags as open(2) (the
 * wrapper adds O_CLOEXEC). Returns the fd or a negative CLOCHE__E.... */
int cloche__vfs_host_openat(const cloche__vfs_mnt *m, int dirfd,
                            const char *rel, int flags, unsigned mode);
/* Open for I/O (flags as open(2)) the object the O_PATH descriptor
 * `pinned` refers to, without looking a name up again: through
 * /proc/self/fd; without /proc, rel is opened again (the caller checks
 * with fstat what it got). fd or a negative CLOCHE__E.... */
int cloche__vfs_host_open_pinned(const cloche__vfs_mnt *m, int pinned,
                                 const char *rel, int flags);
/* An O_PATH descriptor of the directory rel below m ("" gives m->fd:
 * release with cloche__vfs_host_dirfd_close, which leaves m->fd open). */
int cloche__vfs_host_dirfd(int *fd, const cloche__vfs_mnt *m,
                           const char *rel);
void cloche__vfs_host_dirfd_close(const cloche__vfs_mnt *m, int fd);
/* enum cloche__vfs_type of a host st_mode. */
int cloche__vfs_host_type(unsigned mode);
/* out = rel + "/" + name (or either alone); ENAMETOOLONG past PATH_MAX. */
int cloche__vfs_host_join(char *out, size_t *out_len, const char *rel,
                          size_t rel_len, const char *name, size_t name_len);
/* A new host node (refs 1, owned by the caller) for rel below m; fd (may
 * be -1) passes to the node, and is closed on failure. EMFILE past
 * CLOCHE__VFS_MAX_HOST_NODES. rel "" gives the mount point, referenced. */
int cloche__vfs_host_node(cloche__vfs_node **out, cloche__vfs_mnt *m,
                          const char *rel, size_t rel_len, int type, int fd,
                          unsigned acc);
/* Look rel up (O_PATH, the last link itself) and make its node. */
int cloche__vfs_host_lookup_rel(cloche__vfs_node **out, cloche__vfs_mnt *m,
                                const char *rel, size_t rel_len);
/* Release the host part of a non-mount-point node (node_destroy). */
void cloche__vfs_host_release(cloche__vfs_host *h);
/* Close every mount (cloche__vfs_free). */
void cloche__vfs_mounts_free(cloche__vfs *vfs);
/* Open host_path for a new mount (*m owned by the caller until
 * cloche__vfs_mount_attach, freed with cloche__vfs_mount_discard). */
int cloche__vfs_mount_open(cloche__vfs_mnt **m, const char *host_path,
                           int readonly);
/* Room for one more mount in vfs->mounts (ENOMEM, EMFILE). */
int cloche__vfs_mount_reserve(cloche__vfs *vfs);
/* Make node n (in the tree) m's mount point and register m. Cannot fail
 * after cloche__vfs_mount_reserve. */
void cloche__vfs_mount_attach(cloche__vfs *vfs, cloche__vfs_mnt *m,
                              cloche__vfs_node *n);
void cloche__vfs_mount_discard(cloche__vfs_mnt *m);
/* After a guest rename of rel from -> to in m: rewrite the rel of every
 * open host node at or below `from`. prepare allocates (ENOMEM) before the
 * host rename; commit cannot fail; abort frees. */
typedef struct cloche__vfs_rel_fix {
    char **rels; /* one per vfs->hosts entry (NULL: unchanged) */
    uint32_t n;
} cloche__vfs_rel_fix;
int cloche__vfs_host_rename_prepare(cloche__vfs_rel_fix *fx,
                                    const cloche__vfs_mnt *m,
                                    const char *from, size_t from_len,
                                    const char *to, size_t to_len);
void cloche__vfs_host_rename_commit(cloche__vfs_rel_fix *fx,
                                    const cloche__vfs_mnt *m);
void cloche__vfs_host_rename_abort(cloche__vfs_rel_fix *fx);

/* ---- host mounts: node calls (vfs_host.c) ------------------------------ */

int cloche__vfs_host_stat(cloche__vfs_stat *out, const cloche__vfs_node *n);
int cloche__vfs_host_read(size_t *nread, const cloche__vfs_node *n,
                          uint64_t off, uint8_t *dst, size_t len);
int cloche__vfs_host_write(size_t *nwritten, cloche__vfs_node *n,
                           uint64_t off, const uint8_t *src, size_t len);
int cloche__vfs_host_size(uint64_t *size, const cloche__vfs_node *n);
int cloche__vfs_host_resize(cloche__vfs_node *n, uint64_t size);
int cloche__vfs_host_set_times(cloche__vfs_node *n, uint64_t atim,
                               uint64_t mtim, unsigned mask);
int cloche__vfs_host_sync(cloche__vfs_node *n, int data_only);
int cloche__vfs_host_dir_read(cloche__vfs_dirent *out,
                              const cloche__vfs_node *dir, uint64_t cookie);

/* ---- host mounts: path calls on a leaf inside a mount (vfs_host_path.c) */

int cloche__vfs_host_open(cloche__vfs_node **out, cloche__vfs_leaf *l,
                          unsigned flags);
int cloche__vfs_host_get(cloche__vfs_node **out, cloche__vfs_leaf *l);
int cloche__vfs_host_mkdir(const cloche__vfs_leaf *l);
int cloche__vfs_host_rmdir(const cloche__vfs_leaf *l);
int cloche__vfs_host_unlink(const cloche__vfs_leaf *l);
int cloche__vfs_host_rename(const cloche__vfs_leaf *from,
                            const cloche__vfs_leaf *to);
/* Open the existing object rel below m again (a snapshot load): it must
 * be of `type` (DIR, or FILE opened per flags' READ/WRITE); nothing is
 * created or truncated. refs 1, owned by the caller. */
int cloche__vfs_host_reopen(cloche__vfs_node **out, cloche__vfs_mnt *m,
                            const char *rel, size_t len, int type,
                            unsigned flags);

#endif
