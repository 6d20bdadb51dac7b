/*
 * vfs_state_int.h - what the two halves of the VFS snapshot code share:
 * the record tags (docs/wasi.md, "Format") and the breadth-first walk.
 * vfs_state.c writes records, vfs_state_load.c reads them back. Nothing
 * else includes this file.
 */
#ifndef CLOCHE_VFS_STATE_INT_H
#define CLOCHE_VFS_STATE_INT_H

#include "vfs/vfs_int.h"
#include "vfs/vfs_state.h"

/* Record tag: kind in the low bits, then marks. */
#define K_DIR 1u
#define K_FILE 2u     /* owned bytes follow */
#define K_BORROWED 3u /* a read-only file of the target, by path */
#define K_MASK 0x3u
#define T_RO 0x10u        /* read-only mark */
#define T_UNCHARGED 0x20u /* a directory of the embedder's (not charged) */
#define T_MOUNT 0x40u     /* a mount point (tree): guest path and flag only */
#define T_HOST 0x80u      /* an object in a mount (out of tree), by path */
#define T_ALL (K_MASK | T_RO | T_UNCHARGED | T_MOUNT)

/* Fewest bytes a child / an out-of-tree record can take: bounds counts
 * read from the blob before anything is allocated for them. */
#define MIN_CHILD 9u
#define MIN_ORPHAN 5u

/* Double an array's capacity (to 16 when empty). */
int cloche__vfs_state_grow(void **p, size_t *cap, size_t elem);

/* One node of the walk. */
typedef struct item {
    cloche__vfs_node *node;
    const cloche__vfs_dent *ent; /* its entry (NULL: root, out of tree) */
    uint64_t seq_delta;          /* seq minus the previous sibling's */
} item;

/* Every node of the tree, root first, breadth first (children in readdir
 * order); *out is freed with cloche__dealloc. */
int cloche__vfs_state_collect(item **out, size_t *nout, size_t *capout,
                              cloche__vfs_node *root);

#endif
