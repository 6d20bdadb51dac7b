/*
 * vfs_int.h - VFS internals shared by vfs.c, vfs_path.c and vfs_embed.c.
 * Nothing outside src/vfs includes this file.
 */
#ifndef CLOCHE_VFS_INT_H
#define CLOCHE_VFS_INT_H

#include "vfs/vfs.h"

/* Node flags. */
#define CLOCHE__VFS_F_RO 0x1u       /* read-only mark (guest writes: EROFS) */
#define CLOCHE__VFS_F_BORROWED 0x2u /* file data is borrowed, never freed */
#define CLOCHE__VFS_F_CHARGED 0x4u  /* node counted in nodes_used */

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

struct cloche__vfs_node {
    cloche__vfs *vfs;
    cloche__vfs_node *parent; /* NULL for the root and for unlinked nodes */
    uint32_t refs;            /* 1 for the tree link + 1 per open handle */
    uint8_t type;             /* enum cloche__vfs_type */
    uint8_t flags;            /* CLOCHE__VFS_F_... */
    uint64_t ino;
    uint64_t atim, mtim, ctim;
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

/* A parsed path: the directory that holds the last component, and it. */
typedef struct cloche__vfs_leaf {
    cloche__vfs_node *dir; /* borrowed */
    const char *name;      /* into the caller's path; NULL for "" (root) */
    size_t name_len;
    int trailing_slash;
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
/* Full resolution; borrowed result (no reference taken). */
int cloche__vfs_resolve(cloche__vfs_node **out, cloche__vfs *vfs,
                        cloche__vfs_node *base, const char *path, size_t len);

#endif
