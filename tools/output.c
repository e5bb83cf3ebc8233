#include "output.h"

#include <inttypes.h>
#include <math.h>
#include <time.h>
#include <stdlib.h>

#include "engine/postfix.h"
#include "engine/syslog.h"
#include "index/query.h"
#include "index/reindex.h"
#include "index/reports.h"
#include "index/writer.h"

#define TABLE_COLS 7

struct ml_out {
	FILE *f;
	ml_out_format_t fmt;
	char **cells;         /* table: rows × TABLE_COLS */
	size_t nrows, cap;
	int header_done;
	ml_buf_t tmp;
	ml_buf_t line;        /* JSON: the row being written */
};

static const char *const row_keys[] = {
	"id", "time", "host", "queue_id", "direction", "from", "to", "orig_to", "subject",
	"status", "dsn", "relay", "delay", "reason", "message_id", "client_ip", "size",
	"released", "reported",
};

void ml_docid_format(uint64_t docid, char *buf, size_t len)
{
	if (len >= 21)
		ml_u64_dec(docid, buf);
	else
		snprintf(buf, len, "%" PRIu64, docid);
}

int ml_docid_parse(const char *s, uint64_t *out)
{
	if (!*s)
		return ML_EINVAL;
	uint64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10)
			return ML_EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = v;
	return ML_OK;
}

static json_t *jstr_n(const char *p, size_t n)
{
	ml_buf_t b = ML_BUF_INIT;
	ml_utf8_sanitize(&b, p, n);
	json_t *j = json_stringn_nocheck(b.data ? b.data : "", b.len);
	ml_buf_free(&b);
	return j;
}

static json_t *jfield(const ml_message_t *m, ml_str_t s)
{
	ml_slice_t v = ml_message_str(m, s);
	return jstr_n(v.p, v.n);
}

static json_t *jtime(int64_t us)
{
	char buf[40];
	return json_string(ml_time_format(us, buf, sizeof buf));
}

static int show_local;

void ml_out_local_time(int local)
{
	show_local = local;
}

/* An RFC 3339 UTC time as shown to a person: "2024-01-02 03:04:05" in UTC,
 * or local time with its offset when asked for. */
static void human_time(const char *rfc3339, char *out, size_t len)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	if (!show_local || !strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ", &tm)) {
		snprintf(out, len, "%.10s %.8s", rfc3339, rfc3339 + (strlen(rfc3339) >= 19 ? 11 : 0));
		return;
	}
	time_t t = timegm(&tm);
	struct tm lt;
	localtime_r(&t, &lt);
	strftime(out, len, "%Y-%m-%d %H:%M:%S %z", &lt);
}

void ml_out_duration(double seconds, char *out, size_t len)
{
	static const struct { double size; const char *unit; } units[] = {
		{ 86400, "d" }, { 3600, "h" }, { 60, "min" },
	};
	/* the largest unit of which there are at least two (120 s is "2 min") */
	double v = seconds > 0 ? seconds : 0;
	const char *unit = "s";
	for (size_t i = 0; i < ML_ARRAY_LEN(units); i++)
		if (v >= 2 * units[i].size) {
			v /= units[i].size;
			unit = units[i].unit;
			break;
		}
	if (v < 1) {
		snprintf(out, len, "%.2g %s", v, unit);
		return;
	}
	double tenths = floor(v * 10 + 0.5) / 10;
	if (v >= 10)
		snprintf(out, len, "%.0f %s", floor(v), unit);
	else
		snprintf(out, len, "%.*f %s", tenths == floor(tenths) ? 0 : 1, tenths, unit);
}

json_t *ml_row_json(const ml_message_t *m, int row)
{
	const ml_rcpt_t *r = row >= 0 ? &m->rcpts[row] : NULL;
	ml_str_t none = { 0, 0 };
	char id[32];
	ml_docid_format(m->docid, id, sizeof id);
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "time", jtime(m->first_us));
	json_object_set_new(o, "host", jfield(m, m->host));
	json_object_set_new(o, "queue_id", jfield(m, m->queue_id));
	json_object_set_new(o, "direction", json_string(ml_direction_name(m->direction)));
	json_object_set_new(o, "from", jfield(m, m->from));
	json_object_set_new(o, "to", jfield(m, r ? r->to : none));
	json_object_set_new(o, "orig_to", jfield(m, r ? r->orig_to : none));
	json_object_set_new(o, "subject", jfield(m, m->subject));
	json_object_set_new(o, "status", json_string(ml_status_name(ml_message_row_status(m, r))));
	json_object_set_new(o, "dsn", jfield(m, r ? r->dsn : none));
	json_object_set_new(o, "relay", jfield(m, r ? r->relay : none));
	json_object_set_new(o, "delay", r && r->status ? json_real(r->delay_ms / 1000.0) : json_null());
	json_object_set_new(o, "reason", jfield(m, r ? r->reason : none));
	json_object_set_new(o, "message_id", jfield(m, m->message_id));
	json_object_set_new(o, "client_ip", jfield(m, m->client_ip));
	json_object_set_new(o, "size", m->size ? json_integer((json_int_t)m->size) : json_null());
	json_object_set_new(o, "released", json_boolean((m->flags & ML_MSG_RELEASED) != 0));
	json_object_set_new(o, "reported", json_boolean((m->flags & ML_MSG_REPORTED) != 0));
	if (r && (r->flags & ML_RCPT_HANDED_ON))
		json_object_set_new(o, "handed_on_to", jfield(m, m->next_qid));
	return o;
}

/* 1 when each of the 8 bytes of x is printable ASCII but '"' and '\\':
 * none above 0x7e, none below 0x20, none equal to '"', '\\' or 0x7f (each
 * test the classic "has a byte less than / a zero byte" of the bits) */
static inline int plain8(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ull, high = ones << 7;
	uint64_t q = x ^ (ones * '"'), s = x ^ (ones * '\\'), d = x ^ (ones * 0x7f);
	uint64_t bad = x | ((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((s - ones) & ~s) | ((d - ones) & ~d);
	return (bad & high) == 0;
}

/* A JSON string of p[0..n) (sanitized to UTF-8 first), escaped as jansson
 * escapes it by default: '"', '\\', and control characters. */
static void json_put_str(ml_buf_t *b, ml_buf_t *tmp, const char *p, size_t n)
{
	/* printable ASCII without '"' and '\\' (most of a mail log) needs
	 * neither sanitizing nor escaping: looked at 8 bytes at a time */
	static const unsigned char plain[256] = { [0x20 ... 0x21] = 1, [0x23 ... 0x5b] = 1, [0x5d ... 0x7e] = 1 };
	size_t k = 0;
	const unsigned char *u = (const unsigned char *)p;
	for (uint64_t x; k + 8 <= n; k += 8) {
		memcpy(&x, u + k, 8);
		if (!plain8(x))
			break;
	}
	while (k < n && plain[u[k]])
		k++;
	if (k == n) {
		if (!ml_buf_room(b, n + 2)) {
			char *o = b->data + b->len;
			*o = '"';
			memcpy(o + 1, p, n);
			o[n + 1] = '"';
			b->len += n + 2;
		}
		return;
	}
	ml_buf_reset(tmp);
	ml_utf8_sanitize(tmp, p, n);
	const unsigned char *s = (const unsigned char *)(tmp->data ? tmp->data : "");
	size_t len = tmp->len, run = 0;
	ml_buf_putc(b, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		ml_buf_append(b, (const char *)s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': ml_buf_puts(b, "\\\""); break;
		case '\\': ml_buf_puts(b, "\\\\"); break;
		case '\b': ml_buf_puts(b, "\\b"); break;
		case '\f': ml_buf_puts(b, "\\f"); break;
		case '\n': ml_buf_puts(b, "\\n"); break;
		case '\r': ml_buf_puts(b, "\\r"); break;
		case '\t': ml_buf_puts(b, "\\t"); break;
		default: ml_buf_printf(b, "\\u%04X", c); break;
		}
	}
	ml_buf_append(b, (const char *)s + run, len - run);
	ml_buf_putc(b, '"');
}

/* A real as jansson writes it with JSON_REAL_PRECISION(6): %.6g, a ".0"
 * when that looks like an integer, no '+' or leading zeros in an exponent. */
static void json_put_real(ml_buf_t *b, double v)
{
	char buf[64], out[64];
	int n = snprintf(buf, sizeof buf, "%.6g", v);
	if (!strpbrk(buf, ".eE") && n > 0 && (size_t)n + 2 < sizeof buf)
		memcpy(buf + n, ".0", 3);
	size_t k = 0;
	for (const char *p = buf; *p && k + 1 < sizeof out; p++) {
		out[k++] = *p;
		if (*p == 'e' || *p == 'E') {
			p++;
			if (*p == '+')
				p++;
			else if (*p == '-')
				out[k++] = *p++;
			while (*p == '0' && p[1])
				p++;
			p--;
		}
	}
	out[k] = 0;
	ml_buf_puts(b, out);
}

/* Milliseconds as seconds, written as json_put_real writes ms / 1000.0:
 * by hand below 1000 s, where %.6g keeps every digit (at most six
 * significant ones), else by json_put_real. */
static void json_put_ms(ml_buf_t *b, uint64_t ms)
{
	if (ms >= 1000000) {
		json_put_real(b, ms / 1000.0);
		return;
	}
	char t[32];
	size_t n = ml_u64_dec(ms / 1000, t);
	unsigned f = (unsigned)(ms % 1000);
	t[n++] = '.';
	t[n++] = (char)('0' + f / 100);
	if (f % 100) {
		t[n++] = (char)('0' + f / 10 % 10);
		if (f % 10)
			t[n++] = (char)('0' + f % 10);
	}
	ml_buf_append(b, t, n);
}

/* Literal bytes (a key and its punctuation), their length known. */
static inline void put_lit(ml_buf_t *b, const char *s, size_t n)
{
	if (!ml_buf_room(b, n)) {
		memcpy(b->data + b->len, s, n);
		b->len += n;
	}
}
#define PUT_LIT(b, s) put_lit(b, s, sizeof(s) - 1)
#define JSON_KEY(b, key) PUT_LIT(b, ",\"" key "\":")
#define JSON_FIELD(b, tmp, key, m, f)                          \
	do {                                                   \
		JSON_KEY(b, key);                              \
		ml_slice_t v_ = ml_message_str(m, f);          \
		json_put_str(b, tmp, v_.p, v_.n);              \
	} while (0)

int ml_row_json_write(ml_buf_t *b, ml_buf_t *tmp, const ml_message_t *m, int row)
{
	const ml_rcpt_t *r = row >= 0 ? &m->rcpts[row] : NULL;
	ml_str_t none = { 0, 0 };
	char t[40];
	size_t n = ml_u64_dec(m->docid, t);
	PUT_LIT(b, "{\"id\":");
	json_put_str(b, tmp, t, n);
	JSON_KEY(b, "time");
	ml_time_format(m->first_us, t, sizeof t);
	json_put_str(b, tmp, t, strlen(t));
	JSON_FIELD(b, tmp, "host", m, m->host);
	JSON_FIELD(b, tmp, "queue_id", m, m->queue_id);
	const char *dir = ml_direction_name(m->direction);
	JSON_KEY(b, "direction");
	json_put_str(b, tmp, dir, strlen(dir));
	JSON_FIELD(b, tmp, "from", m, m->from);
	JSON_FIELD(b, tmp, "to", m, r ? r->to : none);
	JSON_FIELD(b, tmp, "orig_to", m, r ? r->orig_to : none);
	JSON_FIELD(b, tmp, "subject", m, m->subject);
	const char *st = ml_status_name(ml_message_row_status(m, r));
	JSON_KEY(b, "status");
	json_put_str(b, tmp, st, strlen(st));
	JSON_FIELD(b, tmp, "dsn", m, r ? r->dsn : none);
	JSON_FIELD(b, tmp, "relay", m, r ? r->relay : none);
	JSON_KEY(b, "delay");
	if (r && r->status)
		json_put_ms(b, r->delay_ms);
	else
		PUT_LIT(b, "null");
	JSON_FIELD(b, tmp, "reason", m, r ? r->reason : none);
	JSON_FIELD(b, tmp, "message_id", m, m->message_id);
	JSON_FIELD(b, tmp, "client_ip", m, m->client_ip);
	JSON_KEY(b, "size");
	if (m->size)
		ml_buf_put_u64(b, m->size);
	else
		PUT_LIT(b, "null");
	if (m->flags & ML_MSG_RELEASED)
		PUT_LIT(b, ",\"released\":true");
	else
		PUT_LIT(b, ",\"released\":false");
	if (m->flags & ML_MSG_REPORTED)
		PUT_LIT(b, ",\"reported\":true");
	else
		PUT_LIT(b, ",\"reported\":false");
	if (r && (r->flags & ML_RCPT_HANDED_ON))
		JSON_FIELD(b, tmp, "handed_on_to", m, m->next_qid);
	PUT_LIT(b, "}");
	return ML_OK;
}

ml_out_t *ml_out_new(FILE *f, ml_out_format_t fmt)
{
	ml_out_t *o = calloc(1, sizeof *o);
	if (o) {
		o->f = f;
		o->fmt = fmt;
	}
	return o;
}

/* One CSV cell.  Text that a spreadsheet would take for a formula (it
 * starts with =, +, -, @, a tab or a carriage return: a subject or an
 * address is the sender's to choose) is neutralised as OWASP advises: a
 * single quote before it, and the cell quoted.  Numbers are written as they
 * are. */
static void csv_cell(FILE *f, const char *s, int text)
{
	int formula = text && *s && strchr("=+-@\t\r", *s);
	if (formula) {
		fputs("\"'", f);
		for (; *s; s++) {
			if (*s == '"')
				fputc('"', f);
			fputc(*s, f);
		}
		fputc('"', f);
		return;
	}
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* Scalar of a JSON value as text ("" for null). */
static void jtext(json_t *v, ml_buf_t *b)
{
	ml_buf_reset(b);
	if (json_is_string(v))
		ml_buf_append(b, json_string_value(v), json_string_length(v));
	else if (json_is_integer(v))
		ml_buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		ml_buf_printf(b, "%.3g", json_real_value(v));
	else if (json_is_boolean(v))
		ml_buf_puts(b, json_is_true(v) ? "true" : "false");
	ml_buf_cstr(b);
}

int ml_out_csv_row(ml_out_t *o, json_t *j)
{
	if (!o->header_done++) {
		for (size_t i = 0; i < ML_ARRAY_LEN(row_keys); i++)
			fprintf(o->f, "%s%s", i ? "," : "", row_keys[i]);
		fputs("\r\n", o->f);
	}
	for (size_t i = 0; i < ML_ARRAY_LEN(row_keys); i++) {
		json_t *v = json_object_get(j, row_keys[i]);
		jtext(v, &o->tmp);
		if (i)
			fputc(',', o->f);
		csv_cell(o->f, o->tmp.data, json_is_string(v));
	}
	fputs("\r\n", o->f);
	return ferror(o->f) ? ML_EIO : ML_OK;
}

int ml_out_row(ml_out_t *o, const ml_message_t *m, int row)
{
	if (o->fmt == ML_OUT_JSON) {
		/* written directly: a jansson object a row costs more than the search */
		ml_buf_reset(&o->line);
		ml_row_json_write(&o->line, &o->tmp, m, row);
		ml_buf_putc(&o->line, '\n');
		return fwrite(o->line.data, 1, o->line.len, o->f) == o->line.len ? ML_OK : ML_EIO;
	}
	json_t *j = ml_row_json(m, row);
	if (!j)
		return ML_ENOMEM;
	if (o->fmt == ML_OUT_CSV) {
		ml_out_csv_row(o, j);
	} else {
		static const char *const cols[TABLE_COLS] = { "time", "status", "from", "to", "subject", "queue_id", "id" };
		if (o->nrows == o->cap) {
			o->cap = o->cap ? o->cap * 2 : 64;
			o->cells = realloc(o->cells, o->cap * TABLE_COLS * sizeof *o->cells);
		}
		for (int i = 0; i < TABLE_COLS; i++) {
			jtext(json_object_get(j, cols[i]), &o->tmp);
			if (i == 0 && o->tmp.len >= 19) {  /* 2024-01-02T03:04:05Z → 2024-01-02 03:04:05 */
				char h[48];
				human_time(o->tmp.data, h, sizeof h);
				ml_buf_reset(&o->tmp);
				ml_buf_puts(&o->tmp, h);
			}
			if (i == 1) {  /* the marks of the message: "delivered (released, reported)" */
				int rel = (m->flags & ML_MSG_RELEASED) != 0, rep = (m->flags & ML_MSG_REPORTED) != 0;
				if (rel || rep)
					ml_buf_printf(&o->tmp, " (%s%s%s)", rel ? "released" : "", rel && rep ? ", " : "",
					              rep ? "reported" : "");
			}
			if (i == 3 && !o->tmp.data[0])
				ml_buf_puts(&o->tmp, "-");
			if (i == 2 && !o->tmp.data[0])
				ml_buf_puts(&o->tmp, "<>");
			o->cells[o->nrows * TABLE_COLS + i] = strdup(ml_buf_cstr(&o->tmp));
		}
		o->nrows++;
	}
	json_decref(j);
	return ML_OK;
}

/* Columns a code point takes on a terminal: 2 for East Asian wide and
 * fullwidth characters, else 1. */
static size_t cp_width(uint32_t cp)
{
	return (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf && cp != 0x303f) ||
	       (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
	       (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
	       (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1faff) ||
	       (cp >= 0x20000 && cp <= 0x3fffd) ? 2 : 1;
}

/* The next character of valid UTF-8 text s: its length, its width in *w. */
static size_t next_char(const char *s, size_t *w)
{
	uint32_t cp;
	size_t k = ml_utf8_decode((const unsigned char *)s, strlen(s), &cp);
	if (!k) {
		*w = 1;
		return 1;
	}
	*w = cp_width(cp);
	return k;
}

/* Display width of UTF-8 text. */
static size_t uwidth(const char *s)
{
	size_t w = 0, cw;
	while (*s) {
		s += next_char(s, &cw);
		w += cw;
	}
	return w;
}

/* Print s cut to w columns (with an ellipsis), padded to w. */
static void put_cell(FILE *f, const char *s, size_t w, int last)
{
	size_t n = 0, i = 0, cw = uwidth(s);
	int cut = cw > w;
	size_t keep = cut ? w - 1 : cw;
	while (s[i]) {
		size_t chw, k = next_char(s + i, &chw);
		if (n + chw > keep)
			break;
		i += k;
		n += chw;
	}
	fwrite(s, 1, i, f);
	if (cut) {
		fputs("\xe2\x80\xa6", f);
		n++;
	}
	if (!last)
		for (; n < w + 2; n++)
			fputc(' ', f);
}

void ml_out_finish(ml_out_t *o)
{
	if (!o)
		return;
	if (o->fmt == ML_OUT_TABLE && o->nrows) {
		const char *const heads[TABLE_COLS] = { show_local ? "TIME" : "TIME (UTC)", "STATUS", "FROM", "TO", "SUBJECT", "QUEUE ID", "ID" };
		const size_t caps[TABLE_COLS] = { show_local ? 25 : 19, 32, 32, 32, 40, 16, 20 };
		size_t w[TABLE_COLS];
		for (int c = 0; c < TABLE_COLS; c++) {
			w[c] = uwidth(heads[c]);
			for (size_t r = 0; r < o->nrows; r++)
				w[c] = ML_MAX(w[c], uwidth(o->cells[r * TABLE_COLS + c]));
			w[c] = ML_MIN(w[c], caps[c]);
		}
		for (int c = 0; c < TABLE_COLS; c++)
			put_cell(o->f, heads[c], w[c], c == TABLE_COLS - 1);
		fputc('\n', o->f);
		for (size_t r = 0; r < o->nrows; r++) {
			for (int c = 0; c < TABLE_COLS; c++)
				put_cell(o->f, o->cells[r * TABLE_COLS + c], w[c], c == TABLE_COLS - 1);
			fputc('\n', o->f);
		}
	}
	for (size_t i = 0; i < o->nrows * TABLE_COLS; i++)
		free(o->cells[i]);
	free(o->cells);
	ml_buf_free(&o->tmp);
	ml_buf_free(&o->line);
	free(o);
}

/* ---- one message ---- */

typedef struct {
	int64_t time_us;
	ml_slice_t program, text, raw;
	size_t seq;
} event_line_t;

static int cmp_event(const void *a, const void *b)
{
	const event_line_t *x = a, *y = b;
	if (x->time_us != y->time_us)
		return x->time_us < y->time_us ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* The raw lines as events, in time order (stable).  *n gets the count. */
static event_line_t *events_of(const ml_message_t *m, size_t *n)
{
	event_line_t *ev = calloc(m->nlines ? m->nlines : 1, sizeof *ev);
	size_t k = 0;
	const char *p = m->raw.data, *end = p ? p + m->raw.len : NULL;
	ml_syslog_ctx_t sc;
	ml_syslog_ctx_init(&sc, (time_t)(m->last_us / 1000000) + 86400, 0);
	while (ev && p && p < end && k < m->nlines) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		ml_syslog_t h;
		const char *why;
		event_line_t *e = &ev[k];
		e->raw = ml_slice(p, len);
		e->seq = k;
		if (ml_syslog_parse(&sc, p, len, &h, &why) == 0) {
			e->time_us = h.time_us;
			e->program = h.program;
			e->text = h.msg;
		} else {
			e->time_us = m->first_us;
			e->text = e->raw;
		}
		k++;
		p += len + 1;
	}
	if (ev)
		qsort(ev, k, sizeof *ev, cmp_event);
	*n = k;
	return ev;
}

static const char *flag_names(const ml_message_t *m, char *buf, size_t len)
{
	static const struct { uint32_t bit; const char *name; } names[] = {
		{ ML_MSG_CLOSED, "closed" }, { ML_MSG_NOQUEUE, "noqueue" }, { ML_MSG_HELD, "held" },
		{ ML_MSG_RELEASED, "released" }, { ML_MSG_DELETED, "deleted" },
		{ ML_MSG_EXPIRED, "expired" }, { ML_MSG_REJECTED, "rejected" }, { ML_MSG_REPORTED, "reported" },
	};
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < ML_ARRAY_LEN(names); i++)
		if (m->flags & names[i].bit)
			o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? " " : "", names[i].name);
	if (!(m->flags & ML_MSG_CLOSED))
		snprintf(buf + o, len - o, "%sin flight", o ? " " : "");
	return buf;
}

json_t *ml_message_json(const ml_message_t *m)
{
	char id[32], flags[128];
	ml_docid_format(m->docid, id, sizeof id);
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "time", jtime(m->first_us));
	json_object_set_new(o, "last_time", jtime(m->last_us));
	json_object_set_new(o, "host", jfield(m, m->host));
	json_object_set_new(o, "queue_id", jfield(m, m->queue_id));
	json_object_set_new(o, "direction", json_string(ml_direction_name(m->direction)));
	json_object_set_new(o, "from", jfield(m, m->from));
	json_object_set_new(o, "subject", jfield(m, m->subject));
	json_object_set_new(o, "message_id", jfield(m, m->message_id));
	json_object_set_new(o, "client_ip", jfield(m, m->client_ip));
	json_object_set_new(o, "client_name", jfield(m, m->client_name));
	json_object_set_new(o, "sasl_username", jfield(m, m->sasl_user));
	json_object_set_new(o, "helo", jfield(m, m->helo));
	json_object_set_new(o, "size", m->size ? json_integer((json_int_t)m->size) : json_null());
	json_object_set_new(o, "nrcpt", json_integer(m->nrcpt));
	json_object_set_new(o, "bounce_queue_id", jfield(m, m->bounce_qid));
	json_object_set_new(o, "original_queue_id", jfield(m, m->orig_qid));
	json_object_set_new(o, "previous_queue_id", jfield(m, m->prev_qid));
	json_object_set_new(o, "next_queue_id", jfield(m, m->next_qid));
	json_object_set_new(o, "flags", json_string(flag_names(m, flags, sizeof flags)));
	json_t *rows = json_array();
	if (m->nrcpts == 0)
		json_array_append_new(rows, ml_row_json(m, -1));
	for (uint32_t i = 0; i < m->nrcpts; i++)
		json_array_append_new(rows, ml_row_json(m, (int)i));
	json_object_set_new(o, "recipients", rows);
	size_t n;
	event_line_t *ev = events_of(m, &n);
	json_t *evs = json_array(), *raw = json_array();
	for (size_t i = 0; ev && i < n; i++) {
		json_t *e = json_object();
		json_object_set_new(e, "time", jtime(ev[i].time_us));
		json_object_set_new(e, "program", jstr_n(ev[i].program.p, ev[i].program.n));
		json_object_set_new(e, "text", jstr_n(ev[i].text.p, ev[i].text.n));
		json_array_append_new(evs, e);
	}
	/* raw lines in the order they were read */
	const char *p = m->raw.data, *end = p ? p + m->raw.len : NULL;
	while (p && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		json_array_append_new(raw, jstr_n(p, len));
		p += len + 1;
	}
	free(ev);
	json_object_set_new(o, "events", evs);
	json_object_set_new(o, "raw", raw);
	if (m->raw_dropped)
		json_object_set_new(o, "raw_lines_not_kept", json_integer(m->raw_dropped));
	return o;
}

static void print_field(FILE *f, const char *name, json_t *v)
{
	if (json_is_string(v) && json_string_length(v))
		fprintf(f, "  %-14s %s\n", name, json_string_value(v));
	else if (json_is_integer(v))
		fprintf(f, "  %-14s %" JSON_INTEGER_FORMAT "\n", name, json_integer_value(v));
}

void ml_message_print(FILE *f, const ml_message_t *m)
{
	json_t *j = ml_message_json(m);
	if (!j)
		return;
	ml_message_print_json(f, j);
	json_decref(j);
}

static void print_events(FILE *f, json_t *events, const char *indent)
{
	size_t i;
	json_t *r;
	json_array_foreach(events, i, r) {
		char h[48];
		human_time(json_string_value(json_object_get(r, "time")), h, sizeof h);
		fprintf(f, "%s%s  %-16s %s\n", indent, h, json_string_value(json_object_get(r, "program")),
		        json_string_value(json_object_get(r, "text")));
	}
}

void ml_message_print_json(FILE *f, json_t *j)
{
	fprintf(f, "message %s\n", json_string_value(json_object_get(j, "id")));
	static const char *const fields[][2] = {
		{ "time", "received" }, { "last_time", "last seen" }, { "host", "host" },
		{ "queue_id", "queue id" }, { "from", "from" }, { "subject", "subject" },
		{ "message_id", "message-id" }, { "client_name", "client" }, { "client_ip", "client ip" },
		{ "sasl_username", "sasl user" }, { "helo", "helo" }, { "size", "size" },
		{ "direction", "direction" }, { "original_queue_id", "bounce of" },
		{ "previous_queue_id", "before filter" }, { "next_queue_id", "after filter" },
		{ "bounce_queue_id", "bounce" }, { "flags", "state" },
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(fields); i++)
		print_field(f, fields[i][1], json_object_get(j, fields[i][0]));
	const char *from = json_string_value(json_object_get(j, "from"));
	const char *flags = json_string_value(json_object_get(j, "flags"));
	if (from && !*from && flags && !strstr(flags, "noqueue"))
		fprintf(f, "  %-14s <>\n", "from");
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(j, "reports"), i, r) {
		char h[48];
		const char *by = json_string_value(json_object_get(r, "by"));
		human_time(json_string_value(json_object_get(r, "at")), h, sizeof h);
		fprintf(f, "  %-14s as %s%s%s, %s (%s)\n", i ? "" : "reported", json_string_value(json_object_get(r, "kind")),
		        by ? " by " : "", by ? by : "", h, json_string_value(json_object_get(r, "source")));
	}
	fprintf(f, "recipients:\n");
	json_array_foreach(json_object_get(j, "recipients"), i, r) {
		const char *to = json_string_value(json_object_get(r, "to"));
		const char *orig = json_string_value(json_object_get(r, "orig_to"));
		fprintf(f, "  %-11s %s%s%s%s\n", json_string_value(json_object_get(r, "status")),
		        to && *to ? to : "-", orig && *orig ? " (for " : "", orig && *orig ? orig : "",
		        orig && *orig ? ")" : "");
		const char *dsn = json_string_value(json_object_get(r, "dsn"));
		const char *relay = json_string_value(json_object_get(r, "relay"));
		json_t *delay = json_object_get(r, "delay");
		const char *reason = json_string_value(json_object_get(r, "reason"));
		if ((dsn && *dsn) || (relay && *relay) || json_is_real(delay)) {
			char d[32] = "-";
			if (json_is_real(delay))
				ml_out_duration(json_real_value(delay), d, sizeof d);
			fprintf(f, "              dsn=%s relay=%s delay=%s\n", dsn && *dsn ? dsn : "-",
			        relay && *relay ? relay : "-", d);
		}
		if (reason && *reason)
			fprintf(f, "              %s\n", reason);
	}
	json_t *chain = json_object_get(j, "chain");
	if (chain) {
		fprintf(f, "chain (every hop of this mail on %s):\n", json_string_value(json_object_get(j, "host")));
		json_array_foreach(chain, i, r) {
			fprintf(f, "  %s %s (%s, message %s)\n", json_string_value(json_object_get(r, "relation")),
			        json_string_value(json_object_get(r, "queue_id")),
			        json_string_value(json_object_get(r, "host")),
			        json_string_value(json_object_get(r, "id")));
			print_events(f, json_object_get(r, "events"), "    ");
		}
	} else {
		fprintf(f, "events:\n");
		print_events(f, json_object_get(j, "events"), "  ");
	}
	fprintf(f, "raw lines:\n");
	json_array_foreach(json_object_get(j, "raw"), i, r)
		fprintf(f, "  %s\n", json_string_value(r));
}

/* ---- chains ---- */

typedef struct {
	ml_slice_t qid;
	ml_slice_t back;   /* the queue ID whose link it must name back, or empty */
	int dir;           /* +1: a next hop (its prev_qid is back); -1: a previous one (next_qid) */
	uint64_t docid;
} hop_find_t;

static int hop_row(void *ctx, const ml_message_t *m, int row)
{
	(void)row;
	hop_find_t *h = ctx;
	ml_slice_t q = ml_message_str(m, m->queue_id);
	ml_slice_t link = ml_message_str(m, h->dir > 0 ? m->prev_qid : m->next_qid);
	if (h->back.n && !(link.n == h->back.n && memcmp(link.p, h->back.p, link.n) == 0))
		return 0;
	if (q.n == h->qid.n && memcmp(q.p, h->qid.p, q.n) == 0 && m->docid > h->docid)
		h->docid = m->docid;  /* the newest message of that queue ID */
	return 0;
}

/* The message (host, qid), whole, into out; 0 when found.  A hop of a
 * chain (dir != 0) must name self back; one on another host (a next tier)
 * is looked for on every host when this one has none. */
static int find_hop(ml_search_t *se, ml_slice_t host, ml_slice_t qid, const ml_message_t *self, int dir,
                    ml_message_t *out)
{
	hop_find_t h = { qid, dir ? ml_message_str(self, self->queue_id) : ML_SLICE_NULL, dir, 0 };
	for (int any = 0; any < (dir ? 2 : 1) && !h.docid; any++) {
		ml_query_t q;
		memset(&q, 0, sizeof q);
		q.queue_id = strndup(qid.p, qid.n);
		q.host = any ? NULL : strndup(host.p, host.n);
		q.handed_on = 1;
		ml_search_info_t info;
		char err[256] = "";
		int rc = q.queue_id && (any || q.host) ? ml_search_run(se, &q, hop_row, &h, &info, err, sizeof err)
		                                       : ML_ENOMEM;
		ml_query_free(&q);
		if (rc)
			return rc;
	}
	return h.docid ? ml_search_get(se, h.docid, out) : ML_ENOTFOUND;
}

static json_t *hop_json(const ml_message_t *m, const char *relation)
{
	char id[32];
	ml_docid_format(m->docid, id, sizeof id);
	json_t *full = ml_message_json(m);
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "queue_id", jfield(m, m->queue_id));
	json_object_set_new(o, "host", jfield(m, m->host));
	json_object_set_new(o, "relation", json_string(relation));
	json_object_set(o, "events", json_object_get(full, "events"));
	json_decref(full);
	return o;
}

static int same_host(const ml_message_t *a, const ml_message_t *b)
{
	ml_slice_t x = ml_message_str(a, a->host), y = ml_message_str(b, b->host);
	return x.n == y.n && ml_memieq(x.p, y.p, x.n);
}

int ml_message_add_chain(json_t *j, ml_search_t *se, const ml_message_t *m)
{
	if (!m->prev_qid.len && !m->next_qid.len && !m->bounce_qid.len && !m->orig_qid.len)
		return ML_OK;
	ml_slice_t host = ml_message_str(m, m->host);
	json_t *before = json_array(), *after = json_array();
	ml_message_t hop;
	ml_message_init(&hop);
	/* back through the filters: the first hop first */
	ml_buf_t qid = ML_BUF_INIT;
	ml_buf_append(&qid, m->strs.data + m->prev_qid.off, m->prev_qid.len);
	ml_message_t cur;
	ml_message_init(&cur);
	const ml_message_t *self = m;
	for (int n = 0; qid.len && n < ML_CHAIN_MAX; n++) {
		if (find_hop(se, host, ml_slice(qid.data, qid.len), self, -1, &hop))
			break;
		json_array_insert_new(before, 0, hop_json(&hop, same_host(&hop, m) ? "before filter" : "previous hop"));
		ml_buf_reset(&qid);
		ml_buf_append(&qid, hop.strs.data + hop.prev_qid.off, hop.prev_qid.len);
		ml_message_t t = cur;
		cur = hop;
		hop = t;
		self = &cur;
		host = ml_message_str(&cur, cur.host);
	}
	/* forward through the filters and the next tiers */
	self = m;
	host = ml_message_str(m, m->host);
	ml_buf_reset(&qid);
	ml_buf_append(&qid, m->strs.data + m->next_qid.off, m->next_qid.len);
	for (int n = 0; qid.len && n < ML_CHAIN_MAX; n++) {
		if (find_hop(se, host, ml_slice(qid.data, qid.len), self, 1, &hop))
			break;
		json_array_append_new(after, hop_json(&hop, same_host(&hop, m) ? "after filter" : "next hop"));
		ml_buf_reset(&qid);
		ml_buf_append(&qid, hop.strs.data + hop.next_qid.off, hop.next_qid.len);
		ml_message_t t = cur;
		cur = hop;
		hop = t;
		self = &cur;
		host = ml_message_str(&cur, cur.host);
	}
	ml_message_free(&cur);
	host = ml_message_str(m, m->host);
	json_t *chain = json_array();
	json_array_extend(chain, before);
	json_array_append_new(chain, hop_json(m, "this"));
	json_array_extend(chain, after);
	struct { ml_str_t q; const char *rel; } links[] = { { m->bounce_qid, "bounce" }, { m->orig_qid, "bounce of" } };
	for (size_t i = 0; i < ML_ARRAY_LEN(links); i++)
		if (links[i].q.len && find_hop(se, host, ml_message_str(m, links[i].q), m, 0, &hop) == 0)
			json_array_append_new(chain, hop_json(&hop, links[i].rel));
	json_decref(before);
	json_decref(after);
	ml_buf_free(&qid);
	ml_message_free(&hop);
	json_object_set_new(j, "chain", chain);
	return ML_OK;
}

/* ---- stats ---- */

typedef struct {
	json_t *skip_by, *bad_by, *inputs;
} stats_walk_t;

static int stats_tally(void *ctx, const char *key, size_t klen, const void *v, size_t vlen)
{
	stats_walk_t *w = ctx;
	size_t pn = strlen(ML_META_TALLY_PFX);
	if (klen <= pn || vlen < 8)
		return 0;
	const char *kp = key + pn;
	size_t kn = klen - pn;
	uint64_t cnt;
	memcpy(&cnt, v, 8);
	int is_skip = kn > 5 && memcmp(kp, "skip:", 5) == 0;
	int is_bad = kn > 4 && memcmp(kp, "bad:", 4) == 0;
	char rbuf[256];
	snprintf(rbuf, sizeof rbuf, "%.*s", (int)(kn - (is_skip ? 5 : 4)), kp + (is_skip ? 5 : 4));
	if (is_skip) {
		json_object_set_new(w->skip_by, rbuf, json_integer((json_int_t)cnt));
	} else if (is_bad) {
		json_t *e = json_object();
		json_object_set_new(e, "count", json_integer((json_int_t)cnt));
		json_object_set_new(e, "sample", jstr_n((const char *)v + 8, vlen - 8));
		json_object_set_new(w->bad_by, rbuf, e);
	}
	return 0;
}

static int stats_input(void *ctx, const char *key, size_t klen, const void *v, size_t vlen)
{
	stats_walk_t *w = ctx;
	ml_ckpt_t ck;
	if (ml_ckpt_parse(key, klen, v, vlen, &ck))
		return 0;
	json_t *in = json_object();
	ck.path[sizeof ck.path - 1] = '\0';
	json_object_set_new(in, "path", jstr_n(ck.path, strlen(ck.path)));
	json_object_set_new(in, "offset", json_integer((json_int_t)ck.offset));
	json_object_set_new(in, "lines", json_integer((json_int_t)ck.lines));
	json_object_set_new(in, "updated", jtime(ck.updated * 1000000));
	json_array_append_new(w->inputs, in);
	return 0;
}

static json_t *jcount(MDB_txn *txn, ml_store_t *s, const char *key)
{
	return json_integer((json_int_t)ml_meta_get_u64(txn, s, key));
}

json_t *ml_stats_json(ml_store_t *s)
{
	MDB_txn *txn;
	if (ml_store_read_begin(s, &txn))
		return NULL;
	json_t *o = json_object();
	json_object_set_new(o, "messages", jcount(txn, s, ML_META_MESSAGES));
	json_t *rows = json_object();
	for (int st = 1; st < ML_ST__COUNT; st++) {
		char key[64];
		snprintf(key, sizeof key, "%s%s", ML_META_ROWS_PFX, ml_status_name((ml_status_t)st));
		json_object_set_new(rows, ml_status_name((ml_status_t)st), jcount(txn, s, key));
	}
	json_object_set_new(o, "rows_by_status", rows);
	json_object_set_new(o, "reports", json_integer((json_int_t)ml_reports_count(txn, s)));
	json_object_set_new(o, "lines_parsed", jcount(txn, s, ML_META_COUNT_PFX "lines_parsed"));
	json_t *skip = json_object(), *bad = json_object();
	stats_walk_t w = { json_object(), json_object(), json_array() };
	json_object_set_new(skip, "total", jcount(txn, s, ML_META_COUNT_PFX "lines_skipped"));
	json_object_set_new(bad, "total", jcount(txn, s, ML_META_COUNT_PFX "lines_bad"));
	ml_meta_each(txn, s, ML_META_TALLY_PFX, stats_tally, &w);
	json_object_set_new(skip, "by_reason", w.skip_by);
	json_object_set_new(bad, "by_reason", w.bad_by);
	json_object_set_new(o, "lines_skipped", skip);
	json_object_set_new(o, "lines_not_understood", bad);
	json_object_set_new(o, "db_bytes", json_integer((json_int_t)ml_store_file_bytes(s)));
	json_object_set_new(o, "dictionary", json_integer((json_int_t)ml_store_dict_id(txn, s)));
	json_object_set_new(o, "string_table", json_integer((json_int_t)ml_store_strtab_gen(txn, s)));
	json_object_set_new(o, "posting_keys", jcount(txn, s, ML_META_POSTINGS));
	ml_store_stat_t st;
	if (ml_store_stat(s, txn, &st) == 0) {
		json_object_set_new(o, "messages_in_flight", json_integer((json_int_t)st.open));
		json_t *sp = json_object();
		json_object_set_new(sp, "rows", json_integer((json_int_t)(st.rows_pages * st.page_size)));
		json_object_set_new(sp, "postings", json_integer((json_int_t)(st.post_pages * st.page_size)));
		json_object_set_new(sp, "raw_lines", json_integer((json_int_t)(st.raw_pages * st.page_size)));
		json_object_set_new(sp, "in_flight", json_integer((json_int_t)(st.open_pages * st.page_size)));
		json_object_set_new(sp, "meta", json_integer((json_int_t)(st.meta_pages * st.page_size)));
		json_object_set_new(sp, "free", json_integer((json_int_t)(st.pages_free * st.page_size)));
		json_object_set_new(o, "space", sp);
		json_object_set_new(o, "map_bytes", json_integer((json_int_t)st.map_size));
		json_object_set_new(o, "map_used_bytes", json_integer((json_int_t)(st.pages_used * st.page_size)));
	}
	/* health: the newest message, the lag behind now, each input's checkpoint */
	uint64_t first, last;
	if (ml_store_docid_range(txn, s, &first, &last) == 0 && last) {
		int64_t sec = (int64_t)ml_docid_sec(last);
		json_object_set_new(o, "newest_message", jtime(sec * 1000000));
		json_object_set_new(o, "lag_seconds", json_integer((json_int_t)(time(NULL) - sec)));
	}
	ml_meta_each(txn, s, ML_META_CKPT_PFX, stats_input, &w);
	json_object_set_new(o, "inputs", w.inputs);
	mdb_txn_abort(txn);
	return o;
}

/* What a status means, as `stats` explains it (the README's table). */
static const char *const status_meanings[ML_ST__COUNT] = {
	[ML_ST_DELIVERED] = "accepted by the next hop or the mailbox",
	[ML_ST_DELAYED] = "temporary failure, still queued, retried",
	[ML_ST_BOUNCED] = "permanent failure, sender notified",
	[ML_ST_EXPIRED] = "retried until the queue lifetime ran out",
	[ML_ST_QUEUED] = "accepted, no delivery attempt logged yet",
	[ML_ST_QUARANTINED] = "held by a filter, may be released",
	[ML_ST_BLOCKED] = "rejected or discarded, never delivered",
};

void ml_stats_print(FILE *f, json_t *j)
{
	const char *k;
	json_t *v;
	fprintf(f, "messages            %-8" JSON_INTEGER_FORMAT "  one per mail on each server: a queue ID, from arrival to removal\n",
	        json_integer_value(json_object_get(j, "messages")));
	fprintf(f, "  in flight         %-8" JSON_INTEGER_FORMAT "  not finished at the last line read: still in the queue (deferred,\n"
	        "                              held) or waiting for more lines; a later ingest completes them\n",
	        json_integer_value(json_object_get(j, "messages_in_flight")));
	fprintf(f, "rows by status                one row per message and recipient\n");
	json_object_foreach(json_object_get(j, "rows_by_status"), k, v) {
		ml_status_t st = ml_status_parse(k, strlen(k));
		fprintf(f, "  %-17s %-8" JSON_INTEGER_FORMAT "  %s\n", k, json_integer_value(v),
		        st ? status_meanings[st] : "");
	}
	fprintf(f, "reports             %-8" JSON_INTEGER_FORMAT "  recipients' reports of messages as spam or phishing (--status reported)\n",
	        json_integer_value(json_object_get(j, "reports")));
	fprintf(f, "lines parsed        %" JSON_INTEGER_FORMAT "\n", json_integer_value(json_object_get(j, "lines_parsed")));
	json_t *s = json_object_get(j, "lines_skipped");
	fprintf(f, "lines skipped       %-8" JSON_INTEGER_FORMAT "  understood, nothing to keep (connections, TLS, statistics, other programs)\n",
	        json_integer_value(json_object_get(s, "total")));
	json_object_foreach(json_object_get(s, "by_reason"), k, v)
		fprintf(f, "  %10" JSON_INTEGER_FORMAT "  %s\n", json_integer_value(v), k);
	json_t *b = json_object_get(j, "lines_not_understood");
	fprintf(f, "lines not understood %" JSON_INTEGER_FORMAT "\n", json_integer_value(json_object_get(b, "total")));
	json_object_foreach(json_object_get(b, "by_reason"), k, v) {
		fprintf(f, "  %10" JSON_INTEGER_FORMAT "  %s\n", json_integer_value(json_object_get(v, "count")), k);
		fprintf(f, "              e.g. %s\n", json_string_value(json_object_get(v, "sample")));
	}
	fprintf(f, "database size       %.1f MB\n", (double)json_integer_value(json_object_get(j, "db_bytes")) / 1e6);
	static const struct { const char *key, *label, *what; } parts[] = {
		{ "rows", "rows", "each finished message: its fields and its rows" },
		{ "raw_lines", "raw lines", "the log lines, compressed in blocks" },
		{ "postings", "search index", "addresses, subject words, IDs, statuses: where each is found" },
		{ "in_flight", "in flight", "messages not finished, and the newest ones" },
		{ "meta", "counters", "counters, saved input positions, dictionary, string table" },
		{ "free", "free", "pages free inside the file, reused for new messages" },
	};
	json_t *space = json_object_get(j, "space");
	for (size_t p = 0; space && p < ML_ARRAY_LEN(parts); p++)
		fprintf(f, "  %-17s %8.1f MB  %s\n", parts[p].label,
		        (double)json_integer_value(json_object_get(space, parts[p].key)) / 1e6, parts[p].what);
	json_t *newest = json_object_get(j, "newest_message");
	if (newest) {
		json_int_t lag = json_integer_value(json_object_get(j, "lag_seconds"));
		char ago[32];
		ml_out_duration((double)(lag < 0 ? -lag : lag), ago, sizeof ago);
		fprintf(f, "newest message      %s (%s %s)\n", json_string_value(newest), ago,
		        lag < 0 ? "ahead of this machine's clock" : "ago");
	}
	size_t i;
	json_t *in;
	json_array_foreach(json_object_get(j, "inputs"), i, in) {
		if (!i)
			fprintf(f, "inputs              how far each file was read (a later ingest goes on from there)\n");
		fprintf(f, "  %s: %" JSON_INTEGER_FORMAT " lines, %" JSON_INTEGER_FORMAT " bytes, saved %s\n",
		        json_string_value(json_object_get(in, "path")), json_integer_value(json_object_get(in, "lines")),
		        json_integer_value(json_object_get(in, "offset")), json_string_value(json_object_get(in, "updated")));
	}
}
