/*
 * output.h — how rows, messages and statistics are written: an aligned
 * table, JSON Lines, CSV; one message whole (text or JSON); stats.
 *
 * Every string written is valid UTF-8 (stored bytes are sanitized on the way
 * out).  The JSON of a row has the keys of ML_ROW_KEYS, in that order; CSV
 * has the same columns.  A table collects its rows (at most the search
 * limit) to align them, then ml_out_finish() prints.
 */
#ifndef ML_OUTPUT_H
#define ML_OUTPUT_H

#include <jansson.h>
#include <stdio.h>

#include "engine/message.h"
#include "index/store.h"

typedef enum { ML_OUT_TABLE, ML_OUT_JSON, ML_OUT_CSV } ml_out_format_t;

typedef struct ml_out ml_out_t;

ml_out_t *ml_out_new(FILE *f, ml_out_format_t fmt);
/* One row (row -1: the implicit row of a message without recipients). */
int ml_out_row(ml_out_t *o, const ml_message_t *m, int row);
/* A row's JSON (ml_row_json, its id perhaps a cluster's "K-docid") as a
 * CSV line of a CSV writer. */
int ml_out_csv_row(ml_out_t *o, json_t *row);
/* Flush (prints the table).  Frees o. */
void ml_out_finish(ml_out_t *o);

/* The row as a JSON object (new reference). */
json_t *ml_row_json(const ml_message_t *m, int row);
/* The same row as compact JSON text, appended to b (byte for byte what
 * jansson writes for ml_row_json with JSON_COMPACT | JSON_PRESERVE_ORDER |
 * JSON_REAL_PRECISION(6)), without building an object; tmp is scratch. */
int ml_row_json_write(ml_buf_t *b, ml_buf_t *tmp, const ml_message_t *m, int row);
/* The message with recipients, events and raw lines (new reference). */
json_t *ml_message_json(const ml_message_t *m);
/* The message as text. */
void ml_message_print(FILE *f, const ml_message_t *m);
/* A message's JSON (from ml_message_json, perhaps with a chain) as text. */
void ml_message_print_json(FILE *f, json_t *j);

struct ml_search;
/*
 * Add "chain" to a message's JSON: the hops of its queue-ID chain on its host
 * (before and after content filters, its bounce, the original of a bounce),
 * oldest first, each {id, queue_id, host, relation, events}; relation is
 * "this", "before filter", "after filter", "bounce" or "bounce of".  Nothing
 * is added for a message that is a chain of one.  At most ML_CHAIN_MAX hops.
 */
#define ML_CHAIN_MAX 8
int ml_message_add_chain(json_t *j, struct ml_search *se, const ml_message_t *m);

/* A duration as a person reads it, in the largest unit of which there are
 * at least two: "0.35 s", "95 s", "35 min", "5.5 h", "31 d" (whole units
 * from 10 up, one decimal below). */
void ml_out_duration(double seconds, char *out, size_t len);

/* Times in tables and `show` text: UTC (default) or local with its offset. */
void ml_out_local_time(int local);

/* The statistics of a database as JSON (new reference), or NULL on error. */
json_t *ml_stats_json(ml_store_t *s);
void ml_stats_print(FILE *f, json_t *stats);

/* Docid as the id users see (decimal). */
void ml_docid_format(uint64_t docid, char *buf, size_t len);
int ml_docid_parse(const char *s, uint64_t *out);

#endif
