/* Snapshot files for the CLI: write/read image snapshots, HMAC key files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_write_file(const char *path, const uint8_t *data, size_t len) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return -1;
    FILE *f = fopen(tmp, "wb");
    int ok = f && fwrite(data, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return -1;
    }
    return 0;
}

int cli_save_snapshot(cloche_sandbox *sb, const char *path,
                      const cli_key *key) {
    cloche_snapshot_options o = CLOCHE_SNAPSHOT_OPTIONS_INIT;
    o.key = key->len ? (const uint8_t *)key->data : NULL;
    o.key_len = key->len;
    uint8_t *snap = NULL;
    size_t len = 0;
    int rc = cloche_snapshot_save(&snap, &len, sb, &o);
    if (rc != 0) {
        fprintf(stderr, "cloche: snapshot: %s: %s\n", cloche_strerror(rc),
                cloche_sandbox_errmsg(sb));
        return -1;
    }
    rc = cli_write_file(path, snap, len);
    cloche_buffer_free(snap);
    if (rc != 0)
        fprintf(stderr, "cloche: cannot write %s\n", path);
    return rc;
}

int cli_load_snapshot(cloche_sandbox *sb, const char *path,
                      const cli_key *key) {
    char *data = NULL;
    size_t len = 0;
    if (cli_read_file(path, &data, &len) != 0) {
        fprintf(stderr, "cloche: cannot read %s\n", path);
        return -1;
    }
    cloche_snapshot_options o = CLOCHE_SNAPSHOT_OPTIONS_INIT;
    o.key = key->len ? (const uint8_t *)key->data : NULL;
    o.key_len = key->len;
    int rc = cloche_snapshot_restore(sb, (const uint8_t *)data, len, &o);
    free(data);
    if (rc != 0) {
        fprintf(stderr, "cloche: %s: %s: %s\n", path, cloche_strerror(rc),
                cloche_sandbox_errmsg(sb));
        return -1;
    }
    return 0;
}

int cli_load_key(cli_key *key, const char *path) {
    free(key->data);
    key->data = NULL;
    key->len = 0;
    if (cli_read_file(path, &key->data, &key->len) != 0 || key->len == 0) {
        fprintf(stderr, "cloche: cannot read key file %s\n", path);
        return -1;
    }
    return 0;
}
