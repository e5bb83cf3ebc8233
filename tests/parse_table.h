/*
 * parse_table.h — the table-driven runs of the parser tests (test_postfix,
 * test_exim, test_sendmail, test_filters): one line in, the event expected
 * out, as a row of a table, and one runner for all of them.
 *
 * A row names the program (what the test's parse function makes of it: a
 * syslog tag, or a word saying how to read the line), the line, the kind of
 * event, and the fields it checks, by name: every slice of ml_event_t
 * ("qid", "from", "subject", ...; the value "" wants it empty), the numbers
 * "size", "nrcpt", "delay_ms", the flags "from_set", "subject_escaped",
 * "local_delivery" ("0" / "1"), "status" (ml_status_name: "delivered", ...,
 * "" for none) and "reason" (of a SKIP or UNKNOWN).  A slice's name ending
 * in '^' checks that the slice starts with the value ("reason_text^"); a
 * recipient list's name ending in "[]" ("rcpt_list[]", "filter_rcpts[]",
 * "to_list[]") checks the items ml_rcpts_next yields, joined by '|'
 * ("a@x|b@y"; "" for none).  A field not named is not checked.  A failure
 * names the test file's line of the row.  The runner is tests/parse_table.c,
 * linked into every test program with tests/testlib.c.
 */
#ifndef ML_PARSE_TABLE_H
#define ML_PARSE_TABLE_H

#include "engine/event.h"

#define TL_PT_FIELDS 16
/* The kind of a row that does not check it. */
#define TL_ANY_KIND ((ml_event_kind_t)-1)

typedef struct {
	const char *name, *want;
} tl_pt_field_t;

typedef struct {
	int line;                /* of the row in the test file */
	const char *program;
	const char *msg;
	ml_event_kind_t kind;
	tl_pt_field_t f[TL_PT_FIELDS];   /* ends at the first NULL name */
} tl_pt_row_t;

/* A row: TL_ROW("postfix/cleanup", "QID: ...", ML_EV_HEADER, { "qid", "QID" }, { "subject", "x" }). */
#define TL_ROW(program, msg, kind, ...) { __LINE__, (program), (msg), (kind), { __VA_ARGS__ } }

typedef void (*tl_pt_parse_fn)(const char *program, const char *msg, ml_event_t *ev);

/* Parse every row and check it; fails the test at the first row that does
 * not hold.  kind_name names kinds in messages (NULL: numbers). */
void tl_pt_run(const tl_pt_row_t *rows, size_t n, tl_pt_parse_fn parse, const char *(*kind_name)(ml_event_kind_t));
#define TL_PT_RUN(rows, parse, kind_name) tl_pt_run((rows), ML_ARRAY_LEN(rows), (parse), (kind_name))
/* A cmocka test (name) that runs one table and nothing else. */
#define TL_PT_TEST(name, rows, parse, kind_name) \
	static void name(void **state) \
	{ \
		(void)state; \
		TL_PT_RUN(rows, parse, kind_name); \
	}

#endif
