/*
 * Integration: figures as results. The minimal guest has no matplotlib,
 * so a fake matplotlib.pyplot (tests/fixtures/fake_pyplot.py, uploaded
 * into the sandbox) stands in; it tells figures apart by their PNG width.
 * Covered: open figures come back in figure order and are closed, the
 * trailing Figure/Axes, cloche.show_image, figures of a run that raised
 * or waited on host calls (resumed here or from a snapshot), and the
 * hostile side: savefig raising, non-PNG and malformed PNG bytes, images
 * over the byte and count caps, a forged images field, secrets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../cli/demo_tools.h"
#include "harness.h"
#include "images.h"

static cloche_sandbox *with_fake_pyplot(void) {
    cloche_sandbox *sb = test_sandbox(NULL);
    FILE *f = fopen(FAKE_PYPLOT_PATH, "rb");
    assert_non_null(f);
    static char src[16384];
    size_t n = fread(src, 1, sizeof src, f);
    fclose(f);
    assert_int_equal(cloche_sandbox_write_file(sb, "/tmp/fake_pyplot.py", src,
                                               n),
                     0);
    cloche_result_free(test_run_ok(sb, "import sys; sys.path.insert(0, '/tmp')\n"
                                       "import fake_pyplot\n"
                                       "import matplotlib.pyplot as plt"));
    return sb;
}

/* The width in image i's IHDR. */
static uint32_t image_width(const cloche_result *r, size_t i) {
    size_t len = 0;
    const char *mime = NULL;
    const uint8_t *p = cloche_result_image(r, i, &len, &mime);
    assert_non_null(p);
    assert_string_equal(mime, "image/png");
    assert_true(len > 24);
    assert_int_equal(cloche__png_valid(p, len), 1);
    return (uint32_t)p[16] << 24 | (uint32_t)p[17] << 16 |
           (uint32_t)p[18] << 8 | p[19];
}

static void expect_widths(const cloche_result *r, const uint32_t *w,
                          size_t n) {
    assert_int_equal(cloche_result_image_count(r), n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(image_width(r, i), w[i]);
}

static int stderr_has(const cloche_result *r, const char *needle) {
    return strstr(cloche_result_stderr(r, NULL), needle) != NULL;
}

static void test_no_matplotlib_no_images(void **state) {
    (void)state;
    cloche_sandbox *sb = test_sandbox(NULL);
    /* cloche imports matplotlib only where the image has it (the data
     * guest pre-imports numpy, pandas and matplotlib together). */
    cloche_result *r = test_run_ok(sb, "import sys\n"
                                       "('matplotlib' in sys.modules) == "
                                       "('numpy' in sys.modules)");
    assert_string_equal(cloche_result_value_repr(r), "True");
    assert_int_equal(cloche_result_image_count(r), 0);
    assert_null(cloche_result_image(r, 0, NULL, NULL));
    char *json = cloche_result_to_json(r);
    assert_non_null(strstr(json, "\"images\":[]"));
    assert_non_null(strstr(json, "\"images_dropped\":0"));
    cloche_string_free(json);
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

static void test_open_figures_in_order_then_closed(void **state) {
    (void)state;
    cloche_sandbox *sb = with_fake_pyplot();
    cloche_result *r = test_run_ok(sb, "plt.figure(3, width=30)\n"
                                       "plt.figure(1, width=10)\n"
                                       "plt.figure(2, width=20)\n"
                                       "None");
    expect_widths(r, (const uint32_t[]){10, 20, 30}, 3);
    assert_int_equal(cloche_result_images_dropped(r), 0);
    assert_int_equal(cloche_result_bytes_cut(r), 0);
    cloche_result_free(r);
    /* Closed at the end of the run: the next run does not repeat them. */
    r = test_run_ok(sb, "plt.get_fignums()");
    assert_string_equal(cloche_result_value_repr(r), "[]");
    assert_int_equal(cloche_result_image_count(r), 0);
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

static void test_trailing_figure_and_axes(void **state) {
    (void)state;
    cloche_sandbox *sb = with_fake_pyplot();
    /* A Figure outside pyplot, as the trailing value. */
    cloche_result *r = test_run_ok(sb, "from matplotlib.figure import Figure\n"
                                       "Figure(width=7)");
    expect_widths(r, (const uint32_t[]){7}, 1);
    assert_string_equal(cloche_result_value_repr(r), "<Figure None>");
    cloche_result_free(r);
    /* An Axes: its figure; one pyplot also holds is not repeated. */
    r = test_run_ok(sb, "from matplotlib.axes import Axes\n"
                        "plt.figure(1, width=4)\n"
                        "Axes(plt.figure(2, width=5))");
    expect_widths(r, (const uint32_t[]){4, 5}, 2);
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

static void test_show_image(void **state) {
    (void)state;
    cloche_sandbox *sb = with_fake_pyplot();
    cloche_result *r = test_run_ok(
        sb, "import cloche\n"
            "plt.figure(1, width=2)\n"
            "cloche.show_image(plt.make_png(9))\n"
            "cloche.show_image(bytearray(plt.make_png(8)))\n");
    expect_widths(r, (const uint32_t[]){9, 8, 2}, 3);
    cloche_result_free(r);
    r = test_run(sb, "import cloche\ncloche.show_image(b'GIF89a')");
    assert_string_equal(cloche_result_exception_type(r), "ValueError");
    assert_int_equal(cloche_result_image_count(r), 0);
    cloche_result_free(r);
    r = test_run(sb, "import cloche\ncloche.show_image('text')");
    assert_string_equal(cloche_result_exception_type(r), "TypeError");
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

/* plt.show() as in a notebook: the open figures become images there and
 * are closed, so plot-show-plot-show gives two images in that order. */
static void test_plt_show_like_a_notebook(void **state) {
    (void)state;
    cloche_sandbox *sb = with_fake_pyplot();
    cloche_result *r = test_run_ok(sb, "import cloche\n"
                                       "plt.figure(1, width=1); plt.show()\n"
                                       "cloche.show_image(plt.make_png(2))\n"
                                       "plt.figure(1, width=3)\n"
                                       "plt.show(block=False)\n"
                                       "plt.figure(1, width=4)\n"
                                       "plt.show.__module__");
    expect_widths(r, (const uint32_t[]){1, 2, 3, 4}, 4);
    assert_string_equal(cloche_result_value_repr(r), "'cloche_guest.figures'");
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

static void test_figures_of_a_run_that_raised(void **state) {
    (void)state;
    cloche_sandbox *sb = with_fake_pyplot();
    cloche_result *r = test_run(sb, "plt.figure(1, width=3)\n1 / 0");
    assert_int_equal(cloche_result_outcome(r), CLOCHE_OUTCOME_EXCEPTION);
    expect_widths(r, (const uint32_t[]){3}, 1);
    cloche_result_free(r);
    r = test_run(sb, "plt.figure(1, width=6)\nraise SystemExit(0)");
    assert_int_equal(cloche_result_outcome(r), CLOCHE_OUTCOME_OK);
    expect_widths(r, (const uint32_t[]){6}, 1);
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

static void test_bad_savefig_is_a_note(void **state) {
    (void)state;
    cloche_sandbox *sb = with_fake_pyplot();
    cloche_result *r = test_run_ok(sb, "plt.figure(1, mode='raise')\n"
                                       "plt.figure(2, mode='gif')\n"
                                       "plt.figure(3, mode='junk')\n"
                                       "plt.figure(4, width=4)\n");
    /* raise and gif: the guest's notes; junk: the host drops it. */
    expect_widths(r, (const uint32_t[]){4}, 1);
    assert_true(stderr_has(r, "figure 1 could not be rendered: RuntimeError: "
                              "savefig exploded"));
    assert_true(stderr_has(r, "figure 2 did not render as PNG"));
    assert_true(stderr_has(r, "[cloche: 1 images left out: not a well-formed "
                              "PNG]\n"));
    assert_int_equal(cloche_result_images_dropped(r), 1);
    assert_int_equal(cloche_result_bytes_cut(r), 8 + 70);
    cloche_result_free(r);
    r = test_run_ok(sb, "plt.get_fignums()");
    assert_string_equal(cloche_result_value_repr(r), "[]");
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

static void test_byte_cap(void **state) {
    (void)state;
    cloche_sandbox *sb = with_fake_pyplot();
    assert_int_equal(cloche_sandbox_limit(sb, CLOCHE_LIMIT_IMAGES, -1),
                     CLOCHE_DEFAULT_IMAGE_BYTES);
    cloche_sandbox_limit(sb, CLOCHE_LIMIT_IMAGES, 10000);
    cloche_result *r = test_run_ok(sb, "plt.figure(1, width=1, pad=6000)\n"
                                       "plt.figure(2, width=2, pad=6000)\n"
                                       "plt.figure(3, width=3)\n"
                                       "plt.figure(4, width=4, pad=20000000)\n");
    /* 2 and 4 do not fit; the small 3 still does. */
    expect_widths(r, (const uint32_t[]){1, 3}, 2);
    assert_int_equal(cloche_result_images_dropped(r), 2);
    assert_true(cloche_result_bytes_cut(r) > 20006000);
    assert_true(stderr_has(r, "[cloche: 2 images left out: over the images "
                              "cap of 10000 bytes or 64 images]\n"));
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

static void test_thousands_of_figures(void **state) {
    (void)state;
    cloche_sandbox *sb = with_fake_pyplot();
    cloche_result *r = test_run_ok(sb, "for i in range(3000):\n"
                                       "    plt.figure(i + 1, width=i + 1)\n");
    assert_int_equal(cloche_result_image_count(r), CLOCHE_MAX_IMAGES);
    assert_int_equal(image_width(r, 63), 64);
    assert_true(stderr_has(r, "2936 images left out: at most 64 per run"));
    char *json = cloche_result_to_json(r);
    json_t *j = json_loads(json, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_array_size(json_object_get(j, "images")), 64);
    json_decref(j);
    cloche_string_free(json);
    cloche_result_free(r);
    r = test_run_ok(sb, "len(plt.get_fignums())");
    assert_string_equal(cloche_result_value_repr(r), "0");
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

/* The guest forges the images field itself (it controls the runtime). */
static void test_forged_images_field(void **state) {
    (void)state;
    cloche_sandbox *sb = with_fake_pyplot();
    /* More images than the host's count cap, bypassing the guest's. */
    cloche_result *r = test_run_ok(
        sb, "import struct, cloche_guest.figures as f\n"
            "png = plt.make_png(2)\n"
            "f.collect = lambda v: (struct.pack('<I', len(png)) + png) * 100\n");
    assert_int_equal(cloche_result_image_count(r), CLOCHE_MAX_IMAGES);
    assert_int_equal(cloche_result_images_dropped(r), 36);
    cloche_result_free(r);
    /* Broken framing (a length past the field's end, a short length): a
     * protocol violation; the sandbox is reset. */
    const char *forge[] = {
        "f.collect = lambda v: b'\\xff\\xff\\xff\\x7f' + png",
        "f.collect = lambda v: b'\\x01\\x00'",
        "f.collect = lambda v: struct.pack('<I', len(png) + 1) + png",
    };
    for (size_t i = 0; i < 3; i++) {
        cloche_result *bad = NULL;
        assert_int_equal(cloche_run(&bad, sb, forge[i], strlen(forge[i])),
                         CLOCHE_EGUEST);
        assert_null(bad);
        r = test_run_ok(sb, "import sys\n'fake_pyplot' in sys.modules");
        assert_string_equal(cloche_result_value_repr(r), "False");
        cloche_result_free(r);
        cloche_sandbox_free(sb);
        sb = with_fake_pyplot();
        cloche_result_free(test_run_ok(
            sb, "import struct, cloche_guest.figures as f\n"
                "png = plt.make_png(2)"));
    }
    cloche_sandbox_free(sb);
}

/* The host's checks, without a guest. */
static void test_png_checks(void **state) {
    (void)state;
    static const uint8_t png[] = {
        0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
        0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0,
        0, 1, 2, 3, 4,
        0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
    assert_int_equal(cloche__png_valid(png, sizeof png), 1);
    for (size_t n = 0; n < sizeof png; n++) /* every truncation */
        assert_int_equal(cloche__png_valid(png, n), 0);
    uint8_t bad[sizeof png];
    const struct {
        size_t at;
        uint8_t v;
    } edits[] = {{0, 0x88}, {11, 12}, {12, 'X'}, {19, 0}, {16, 0x80},
                 {8, 0xff}, {36, 1}, {38, 'X'}, {37, '1'}};
    for (size_t i = 0; i < sizeof edits / sizeof *edits; i++) {
        memcpy(bad, png, sizeof png);
        bad[edits[i].at] = edits[i].v;
        if (cloche__png_valid(bad, sizeof png))
            fail_msg("edit %zu accepted", i);
    }
    /* Framing: (u32 length, bytes)* filling the field exactly. */
    uint8_t field[2 * (4 + sizeof png)];
    for (int k = 0; k < 2; k++) {
        uint8_t *e = field + (size_t)k * (4 + sizeof png);
        e[0] = sizeof png, e[1] = e[2] = e[3] = 0;
        memcpy(e + 4, png, sizeof png);
    }
    cloche__images im = {0};
    uint64_t cut = 0;
    assert_int_equal(cloche__images_take(&im, field, sizeof field, 1, 1000,
                                         NULL, NULL, &cut), 0);
    assert_int_equal(im.count, 1); /* the count cap of 1 */
    assert_int_equal(im.over_cap, 1);
    assert_int_equal(cut, sizeof png);
    cloche__images_free(&im);
    for (size_t n = 1; n < sizeof field; n++) {
        int rc = cloche__images_take(&im, field, n, 64, 1000, NULL, NULL, &cut);
        assert_int_equal(rc, n == 4 + sizeof png ? 0 : -1);
        cloche__images_free(&im);
    }
}

static void add_external(cloche_sandbox *sb, const char *name) {
    cloche_callback_def d = CLOCHE_CALLBACK_DEF_INIT;
    d.name = name;
    assert_int_equal(cloche_sandbox_add_callback(sb, &d), 0);
}

/* A run waiting on a host call, snapshotted, resumed elsewhere: its
 * figures come back when it ends there. */
static void test_pending_run_resumed_from_snapshot(void **state) {
    (void)state;
    cloche_sandbox *a = with_fake_pyplot();
    add_external(a, "approve");
    const char *code = "plt.figure(1, width=11)\n"
                       "ok = await approve(x=1)\n"
                       "plt.figure(2, width=ok['w'])\n"
                       "ok";
    cloche_step step;
    assert_int_equal(cloche_start(&step, a, code, strlen(code)), 0);
    assert_int_equal(step, CLOCHE_STEP_PENDING);
    uint8_t *snap = NULL;
    size_t snap_len = 0;
    assert_int_equal(cloche_snapshot_save(&snap, &snap_len, a, NULL), 0);
    cloche_sandbox_free(a);
    cloche_sandbox *b = test_sandbox(NULL);
    add_external(b, "approve");
    assert_int_equal(cloche_snapshot_restore(b, snap, snap_len, NULL), 0);
    cloche_call *c = cloche_pending_call(b, 0);
    const char *reply = "{\"w\": 12}";
    assert_int_equal(cloche_call_return(c, reply, strlen(reply)), 0);
    assert_int_equal(cloche_resume(&step, b), 0);
    assert_int_equal(step, CLOCHE_STEP_DONE);
    cloche_result *r = NULL;
    assert_int_equal(cloche_finish(&r, b), 0);
    assert_int_equal(cloche_result_outcome(r), CLOCHE_OUTCOME_OK);
    expect_widths(r, (const uint32_t[]){11, 12}, 2);
    cloche_result_free(r);
    cloche_buffer_free(snap);
    cloche_sandbox_free(b);
}

static void test_json_base64(void **state) {
    (void)state;
    cloche_sandbox *sb = with_fake_pyplot();
    cloche_result *r = test_run_ok(sb, "plt.figure(1, width=5)\n"
                                       "import base64\n"
                                       "base64.b64encode(plt.make_png(5))"
                                       ".decode()");
    char *json = cloche_result_to_json(r);
    json_t *j = json_loads(json, 0, NULL);
    assert_non_null(j);
    json_t *img = json_array_get(json_object_get(j, "images"), 0);
    assert_string_equal(json_string_value(json_object_get(img, "mime")),
                        "image/png");
    /* The guest's own base64 of the same PNG is the trailing value. */
    assert_string_equal(json_string_value(json_object_get(img, "base64")),
                        json_string_value(json_object_get(j, "value")));
    json_decref(j);
    cloche_string_free(json);
    cloche_result_free(r);
    cloche_sandbox_free(sb);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_matplotlib_no_images),
        cmocka_unit_test(test_open_figures_in_order_then_closed),
        cmocka_unit_test(test_trailing_figure_and_axes),
        cmocka_unit_test(test_show_image),
        cmocka_unit_test(test_plt_show_like_a_notebook),
        cmocka_unit_test(test_figures_of_a_run_that_raised),
        cmocka_unit_test(test_bad_savefig_is_a_note),
        cmocka_unit_test(test_byte_cap),
        cmocka_unit_test(test_thousands_of_figures),
        cmocka_unit_test(test_forged_images_field),
        cmocka_unit_test(test_png_checks),
        cmocka_unit_test(test_pending_run_resumed_from_snapshot),
        cmocka_unit_test(test_json_base64),
    };
    return cmocka_run_group_tests(tests, test_engine_setup,
                                  test_engine_teardown);
}
