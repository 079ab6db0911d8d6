/* A minimal JSON writer for --json output: one object per line. */
#ifndef LRP_CLI_JSON_H
#define LRP_CLI_JSON_H

#include <stdint.h>
#include <stdio.h>

typedef struct json {
    FILE *f;
    int depth;
    int first[32]; /* no comma needed before the next element at this depth */
} json;

void json_begin(json *j, FILE *f); /* starts an object */
void json_end(json *j);            /* ends the object and the line */
void json_key(json *j, const char *key);
void json_obj(json *j, const char *key); /* key may be NULL inside arrays */
void json_obj_end(json *j);
void json_arr(json *j, const char *key);
void json_arr_end(json *j);
void json_str(json *j, const char *key, const char *v); /* NULL v writes null */
void json_int(json *j, const char *key, int64_t v);
void json_num(json *j, const char *key, double v); /* NaN/Inf write null */
void json_bool(json *j, const char *key, int v);
void json_null(json *j, const char *key);

/* The line of an input that failed: {"input", "index", "status": "error", "error"}. */
void json_item_error(FILE *f, const char *input, int64_t index, const char *message);

/* Writes s as a JSON string literal (UTF-8 passed through, controls escaped,
 * invalid bytes replaced by U+FFFD). */
void json_write_string(FILE *f, const char *s);

#endif
