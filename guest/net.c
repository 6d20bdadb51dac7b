/*
 * _cloche.net_*: thin wrappers over the cloche.net_* host imports for the
 * socket shim (cloche_guest/netshim.py). Negative results are the host
 * network core's status codes (docs/network.md); the shim turns them into
 * Python exceptions. timeout_ms < 0 means "blocking" (the host still
 * bounds the wait), 0 means "do not wait".
 */
#include <Python.h>

#include <stdint.h>
#include <string.h>

#include "guest.h"

#define HOST_IMPORT(name)                                                      \
    __attribute__((import_module("cloche"), import_name(name)))

HOST_IMPORT("net_connect")
extern int32_t host_net_connect(const char *host, uint32_t len, uint32_t port,
                                uint32_t tls, int64_t timeout_ms);
HOST_IMPORT("net_starttls")
extern int32_t host_net_starttls(int32_t h, int64_t timeout_ms);
HOST_IMPORT("net_send")
extern int64_t host_net_send(int32_t h, const void *p, uint32_t len,
                             int64_t timeout_ms);
HOST_IMPORT("net_recv")
extern int64_t host_net_recv(int32_t h, void *p, uint32_t cap,
                             int64_t timeout_ms);
HOST_IMPORT("net_shutdown") extern int32_t host_net_shutdown(int32_t h,
                                                             uint32_t how);
HOST_IMPORT("net_close") extern int32_t host_net_close(int32_t h);
HOST_IMPORT("net_poll")
extern int32_t host_net_poll(void *fds, uint32_t nfds, int64_t timeout_ms);
HOST_IMPORT("net_error") extern int32_t host_net_error(char *buf, uint32_t cap);

#define IO_MAX (1u << 20) /* bytes per send/recv call */

/* net_connect(host: str, port: int, tls: bool, timeout_ms: int) -> int */
static PyObject *net_connect(PyObject *self, PyObject *args) {
    (void)self;
    const char *host;
    Py_ssize_t len;
    unsigned int port;
    int tls;
    long long timeout_ms;
    if (!PyArg_ParseTuple(args, "s#IpL", &host, &len, &port, &tls, &timeout_ms))
        return NULL;
    if (len > 1024)
        return PyLong_FromLong(-12); /* EINVAL, like the host would say */
    return PyLong_FromLong(host_net_connect(host, (uint32_t)len, port,
                                            (uint32_t)tls, timeout_ms));
}

/* net_starttls(h: int, timeout_ms: int) -> int */
static PyObject *net_starttls(PyObject *self, PyObject *args) {
    (void)self;
    int h;
    long long timeout_ms;
    if (!PyArg_ParseTuple(args, "iL", &h, &timeout_ms))
        return NULL;
    return PyLong_FromLong(host_net_starttls(h, timeout_ms));
}

/* net_send(h: int, data: buffer, timeout_ms: int) -> int */
static PyObject *net_send(PyObject *self, PyObject *args) {
    (void)self;
    int h;
    Py_buffer b;
    long long timeout_ms;
    if (!PyArg_ParseTuple(args, "iy*L", &h, &b, &timeout_ms))
        return NULL;
    uint32_t n = (size_t)b.len > IO_MAX ? IO_MAX : (uint32_t)b.len;
    int64_t rc = host_net_send(h, b.buf, n, timeout_ms);
    PyBuffer_Release(&b);
    return PyLong_FromLongLong(rc);
}

/* net_recv(h: int, into: writable buffer, timeout_ms: int) -> int */
static PyObject *net_recv(PyObject *self, PyObject *args) {
    (void)self;
    int h;
    Py_buffer b;
    long long timeout_ms;
    if (!PyArg_ParseTuple(args, "iw*L", &h, &b, &timeout_ms))
        return NULL;
    uint32_t n = (size_t)b.len > IO_MAX ? IO_MAX : (uint32_t)b.len;
    int64_t rc = host_net_recv(h, b.buf, n, timeout_ms);
    PyBuffer_Release(&b);
    return PyLong_FromLongLong(rc);
}

/* net_shutdown(h: int, how: int) -> int */
static PyObject *net_shutdown(PyObject *self, PyObject *args) {
    (void)self;
    int h;
    unsigned int how;
    if (!PyArg_ParseTuple(args, "iI", &h, &how))
        return NULL;
    return PyLong_FromLong(host_net_shutdown(h, how));
}

/* net_close(h: int) -> int */
static PyObject *net_close(PyObject *self, PyObject *arg) {
    (void)self;
    int h = (int)PyLong_AsLong(arg);
    if (h == -1 && PyErr_Occurred())
        return NULL;
    return PyLong_FromLong(host_net_close(h));
}

/* net_poll(records: bytearray of 12-byte {handle, events, revents} (LE),
 *          timeout_ms: int) -> int; revents are written into records */
static PyObject *net_poll(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer b;
    long long timeout_ms;
    if (!PyArg_ParseTuple(args, "w*L", &b, &timeout_ms))
        return NULL;
    int32_t rc = host_net_poll(b.buf, (uint32_t)(b.len / 12), timeout_ms);
    PyBuffer_Release(&b);
    return PyLong_FromLong(rc);
}

/* net_error() -> str: the host's message for the last failure */
static PyObject *net_error(PyObject *self, PyObject *unused) {
    (void)self, (void)unused;
    char buf[512];
    int32_t n = host_net_error(buf, sizeof buf);
    if (n < 0)
        n = 0;
    if ((size_t)n > sizeof buf)
        n = sizeof buf;
    return PyUnicode_DecodeUTF8(buf, n, "replace");
}

/* net_raw(name: str, a: int, b: int, c: int, d: int) -> int: call one of
 * the imports with raw integers, pointers included. It grants nothing:
 * the threat model already assumes the guest controls every import
 * argument; it lets tests prove the host's bounds checks from Python. */
static PyObject *net_raw(PyObject *self, PyObject *args) {
    (void)self;
    const char *name;
    unsigned int a, b, c;
    long long d;
    if (!PyArg_ParseTuple(args, "sIIIL", &name, &a, &b, &c, &d))
        return NULL;
    int64_t rc;
    if (strcmp(name, "connect") == 0)
        rc = host_net_connect((const char *)(uintptr_t)a, b, c, 0, d);
    else if (strcmp(name, "send") == 0)
        rc = host_net_send((int32_t)a, (const void *)(uintptr_t)b, c, d);
    else if (strcmp(name, "recv") == 0)
        rc = host_net_recv((int32_t)a, (void *)(uintptr_t)b, c, d);
    else if (strcmp(name, "poll") == 0)
        rc = host_net_poll((void *)(uintptr_t)a, b, d);
    else if (strcmp(name, "error") == 0)
        rc = host_net_error((char *)(uintptr_t)a, b);
    else
        return PyErr_Format(PyExc_ValueError, "no import net_%s", name);
    return PyLong_FromLongLong(rc);
}

PyMethodDef cloche_guest_net_methods[] = {
    {"net_raw", net_raw, METH_VARARGS, "Call a net import with raw values."},
    {"net_connect", net_connect, METH_VARARGS, "Connect through the host."},
    {"net_starttls", net_starttls, METH_VARARGS, "Start TLS on a connection."},
    {"net_send", net_send, METH_VARARGS, "Send bytes; returns sent or -err."},
    {"net_recv", net_recv, METH_VARARGS, "Receive into a buffer."},
    {"net_shutdown", net_shutdown, METH_VARARGS, "Shut a side down."},
    {"net_close", net_close, METH_O, "Close a connection."},
    {"net_poll", net_poll, METH_VARARGS, "Wait for readiness."},
    {"net_error", net_error, METH_NOARGS, "The last failure's message."},
    {NULL, NULL, 0, NULL},
};
