/*
 * A finished run's cloche_result converted to one tuple and freed. The
 * Python package wraps the tuple in cloche.Result. Text from the guest
 * is untrusted bytes: decoded as UTF-8 with replacement, never trusted to
 * be valid or NUL-free (the lengths are used).
 */
#include "native.h"

static PyObject *text_or_none(const char *s) {
    if (!s)
        Py_RETURN_NONE;
    return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "replace");
}

static PyObject *text_n(const char *s, size_t n) {
    return PyUnicode_DecodeUTF8(s, (Py_ssize_t)n, "replace");
}

/* [(mime, bytes), ...]: the run's images, already checked by libcloche. */
static PyObject *images_list(const cloche_result *r) {
    size_t n = cloche_result_image_count(r);
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        size_t len = 0;
        const char *mime = NULL;
        const uint8_t *p = cloche_result_image(r, i, &len, &mime);
        PyObject *item = Py_BuildValue("(sy#)", mime, (const char *)p,
                                       (Py_ssize_t)len);
        /* PyList_SetItem: the limited API has no SET_ITEM; it steals. */
        if (!item || PyList_SetItem(list, (Py_ssize_t)i, item) != 0) {
            Py_CLEAR(list);
            break;
        }
    }
    return list;
}

/*
 * (outcome, limit, stdout, stderr, value_repr, value_json, exc_type,
 *  exc_message, traceback, detail, duration_ns, fuel_used, memory_bytes,
 *  bytes_cut, images, images_dropped)
 */
PyObject *native_result_tuple(cloche_result *r) {
    size_t out_len, err_len;
    const char *out = cloche_result_stdout(r, &out_len);
    const char *err = cloche_result_stderr(r, &err_len);
    PyObject *t = Py_BuildValue(
        "(iiNNNNNNNNKKKKNn)", (int)cloche_result_outcome(r),
        (int)cloche_result_limit(r), text_n(out, out_len),
        text_n(err, err_len), text_or_none(cloche_result_value_repr(r)),
        text_or_none(cloche_result_value_json(r)),
        text_or_none(cloche_result_exception_type(r)),
        text_or_none(cloche_result_exception_message(r)),
        text_or_none(cloche_result_traceback(r)),
        text_or_none(cloche_result_detail(r)),
        (unsigned long long)cloche_result_duration_ns(r),
        (unsigned long long)cloche_result_fuel_used(r),
        (unsigned long long)cloche_result_memory_bytes(r),
        (unsigned long long)cloche_result_bytes_cut(r), images_list(r),
        (Py_ssize_t)cloche_result_images_dropped(r));
    cloche_result_free(r);
    return t;
}
