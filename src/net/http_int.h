/*
 * http_int.h - what http.c (shared parsing, the request side) and
 * http_resp.c (the response side) share. Nothing else includes it.
 */
#ifndef CLOCHE_NET_HTTP_INT_H
#define CLOCHE_NET_HTTP_INT_H

#include "net/net_int.h"

/* Request side (guest -> server). */
enum {
    Q_HEAD = 0,   /* collecting a request head */
    Q_BODY,       /* Content-Length body: `q_left` bytes to pass */
    Q_CHUNK_SIZE, /* chunked body: a chunk-size line */
    Q_CHUNK_DATA, /* `q_left` bytes of chunk data */
    Q_CHUNK_END,  /* the CRLF after chunk data */
    Q_TRAILER,    /* trailer lines up to the empty one */
};

/* Response side (server -> guest). */
enum {
    R_HEAD = 0,   /* collecting a status line and headers */
    R_BODY,       /* Content-Length body: `r_left` bytes */
    R_CLOSE,      /* body delimited by the end of the connection */
    R_CHUNK_SIZE, /* chunked body: a chunk-size line */
    R_CHUNK_DATA, /* `r_left` bytes of chunk data */
    R_CHUNK_END,  /* the CRLF after chunk data */
    R_TRAILER,    /* trailer section */
    R_DONE,       /* EOF seen: nothing more is expected */
};

struct cloche__net_http {
    /* request side */
    int qs;
    cloche__net_buf qhead; /* the head being collected, as the guest sent it */
    size_t q_line;         /* start of the current line in qhead */
    size_t q_sent;         /* bytes of qhead released unchanged */
    uint64_t q_left;
    cloche__net_buf qline; /* chunk-size / trailer line of a request body */
    int q_crlf;            /* Q_CHUNK_END: CR seen */
    /* requests whose answer has not begun: 1 = HEAD (no body comes) */
    uint8_t queue[CLOCHE__NET_HTTP_QUEUE];
    unsigned q_first, q_count;

    /* response side */
    int rs;
    cloche__net_buf rhead; /* head or trailer being collected */
    size_t r_line;
    uint64_t r_left;
    cloche__net_buf rline; /* chunk-size line */
    int r_crlf;
    int r_rechunk; /* R_BODY: the body goes to the guest chunked */
    cloche__net_stream body; /* scrub stream of the current body */
    cloche__net_buf scratch; /* one feed's scrubbed body, before framing */
    cloche__net_buf passed;  /* what the parser passed on, before raw */
    cloche__net_stream raw;  /* scrub stream over everything passed on */
};

/* Result of cloche__net_http_take_line. */
enum { TAKE_MORE = 0, TAKE_LINE, TAKE_TOO_LONG };

/**
 * Append in[0..len) to buf up to and including the first LF (*used: bytes
 * taken); buf may not grow past max. TAKE_LINE when a LF was taken.
 */
int cloche__net_http_take_line(cloche__net_buf *buf, size_t max,
                               const uint8_t *in, size_t len, size_t *used);

/** One line of a head: [p, p + len) without its CRLF or LF. */
typedef struct http_line {
    const uint8_t *p;
    size_t len;
} http_line;

/**
 * The next line of a complete head at *pos (advanced past its LF). 0, or -1
 * if the line holds a CR not followed by LF, a NUL, or has no LF.
 */
int cloche__net_http_next_line(const cloche__net_buf *head, size_t *pos,
                               http_line *line);

/** A header field split at its colon, the value without surrounding OWS. */
typedef struct http_field {
    const uint8_t *name;
    size_t name_len;
    const uint8_t *value;
    size_t value_len;
    size_t value_off; /* where the value's OWS begins in the line */
} http_field;

/** Split "name: value"; -1 for a line that is not a valid field (no colon,
 *  a name that is not a token, whitespace before the colon, obs-fold). */
int cloche__net_http_field(const http_line *line, http_field *f);

/** 1 if the field's name is `name` (ASCII, case-insensitive). */
int cloche__net_http_is(const http_field *f, const char *name);
/** 1 if [p, p + len) equals the lowercase word w, case-insensitively. */
int cloche__net_http_word(const uint8_t *p, size_t len, const char *w);

/** Content-Length value: 1..18 digits. 0 and *v, or -1. */
int cloche__net_http_length(const uint8_t *p, size_t len, uint64_t *v);
/** Chunk-size line (no CRLF): hex size, optional extensions. 0 or -1. */
int cloche__net_http_chunk_size(const uint8_t *p, size_t len, uint64_t *v);

/** Take the oldest request's "was HEAD" flag (0 if none is waiting). */
int cloche__net_http_pop(cloche__net_http *h);

#endif
