/* The README's library example, built and run by the tests. */
#include <stdio.h>
#include <string.h>

#include <cloche.h>

static void lookup(cloche_call *call, const char *args, size_t len, void *ud) {
    (void)args, (void)len, (void)ud;
    cloche_call_return(call, "{\"rows\": 3}", 11); /* or later, any thread */
}

int main(void) {
    cloche_engine *engine;
    if (cloche_engine_new(&engine, NULL, NULL, 0) != 0)
        return 1;
    cloche_sandbox_options opts = CLOCHE_SANDBOX_OPTIONS_INIT;
    opts.timeout_ms = 2000;
    opts.memory_limit = 64 << 20;
    cloche_sandbox *sb;
    if (cloche_sandbox_new(&sb, engine, &opts) != 0)
        return 1;
    cloche_callback_def d = CLOCHE_CALLBACK_DEF_INIT;
    d.name = "db.lookup";
    d.schema_json = "{\"properties\": {\"sql\": {\"type\": \"string\"}}}";
    d.fn = lookup;
    cloche_sandbox_add_callback(sb, &d);

    const char *code = "import json\nprint('hi')\n"
                       "rows = await db.lookup(sql='select 1')\n"
                       "json.dumps(rows)";
    cloche_result *r;
    int status = 1;
    if (cloche_run(&r, sb, code, strlen(code)) == 0) {
        printf("%s", cloche_result_stdout(r, NULL));  /* hi */
        printf("%s\n", cloche_result_value_repr(r));  /* '{"rows": 3}' */
        status = cloche_result_outcome(r) == CLOCHE_OUTCOME_OK ? 0 : 1;
        cloche_result_free(r);
    }
    cloche_sandbox_free(sb);
    cloche_engine_free(engine);
    return status;
}
