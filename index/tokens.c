#include "tokens.h"

#include <stdlib.h>
#include <xxhash.h>

void ml_keys_reset(ml_keys_t *k)
{
	ml_buf_reset(&k->buf);
	k->count = 0;
}

void ml_keys_free(ml_keys_t *k)
{
	ml_buf_free(&k->buf);
	k->count = 0;
}

int ml_keys_add(ml_keys_t *k, int tag, const char *p, size_t n, int lower)
{
	if (n > ML_TERM_MAX)
		n = ML_TERM_MAX;
	unsigned char hdr[3] = { (unsigned char)((n + 1) & 0xff), (unsigned char)((n + 1) >> 8),
		(unsigned char)tag };
	int rc = ml_buf_append(&k->buf, hdr, 3);
	if (!rc)
		rc = lower ? ml_buf_append_lower(&k->buf, p, n) : ml_buf_append(&k->buf, p, n);
	if (!rc)
		k->count++;
	return rc;
}

int ml_keys_next(const ml_keys_t *k, size_t *pos, const char **key, size_t *len)
{
	if (*pos + 2 > k->buf.len)
		return 0;
	const unsigned char *p = (const unsigned char *)k->buf.data + *pos;
	size_t n = (size_t)p[0] | (size_t)p[1] << 8;
	*key = (const char *)p + 2;
	*len = n;
	*pos += 2 + n;
	return 1;
}

static void id_term(uint64_t h, unsigned char out[ML_ID_TERM_BYTES])
{
	unsigned char b[8];
	ml_put_be64(b, h);
	memcpy(out, b, ML_ID_TERM_BYTES);
}

void ml_msgid_term(const char *id, size_t n, unsigned char out[ML_ID_TERM_BYTES])
{
	id_term(XXH3_64bits(id, n), out);
}

void ml_qid_term(const char *id, size_t n, unsigned char out[ML_ID_TERM_BYTES])
{
	id_term(XXH3_64bits_withSeed(id, n, 'q'), out);
}

ml_slice_t ml_addr_domain(ml_slice_t a)
{
	for (size_t i = a.n; i > 0; i--)
		if (a.p[i - 1] == '@')
			return ml_slice(a.p + i, a.n - i);
	return ML_SLICE_NULL;
}

int ml_addr_in_domain(ml_slice_t a, const char *d, size_t n)
{
	return a.n > n && a.p[a.n - n - 1] == '@' && !strncasecmp(a.p + a.n - n, d, n) &&
	       !memchr(a.p + a.n - n, '@', n);
}

/* Lowercase the code point of a 2-byte UTF-8 sequence c0 c1 in place. */
static void lower2(unsigned char *c0, unsigned char *c1)
{
	unsigned cp = (unsigned)(*c0 & 0x1f) << 6 | (*c1 & 0x3f);
	if ((cp >= 0xc0 && cp <= 0xde && cp != 0xd7) ||   /* Latin-1 capitals */
	    (cp >= 0x391 && cp <= 0x3ab && cp != 0x3a2) || /* Greek */
	    (cp >= 0x410 && cp <= 0x42f))                  /* Cyrillic */
		cp += 0x20;
	else if (cp >= 0x400 && cp <= 0x40f)
		cp += 0x50;
	else
		return;
	*c0 = (unsigned char)(0xc0 | cp >> 6);
	*c1 = (unsigned char)(0x80 | (cp & 0x3f));
}

int ml_tokens_lower(ml_buf_t *out, const char *p, size_t n)
{
	size_t start = out->len;
	int rc = ml_buf_append_lower(out, p, n);
	if (rc)
		return rc;
	unsigned char *s = (unsigned char *)out->data + start;
	for (size_t i = 0; i + 1 < n; i++)
		if ((s[i] & 0xe0) == 0xc0 && (s[i + 1] & 0xc0) == 0x80)
			lower2(&s[i], &s[i + 1]);
	return ML_OK;
}

static int is_word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

/* The code point of the UTF-8 sequence p[0..k) (k from its lead byte). */
static uint32_t code_point(const unsigned char *p, size_t k)
{
	switch (k) {
	case 2: return (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f);
	case 3: return (uint32_t)(p[0] & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 | (p[2] & 0x3f);
	case 4: return (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3f) << 12 |
	               (uint32_t)(p[2] & 0x3f) << 6 | (p[3] & 0x3f);
	default: return p[0];
	}
}

/* Punctuation and spaces outside ASCII: they split words. */
static int is_separator(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0xbf) ||      /* C1 controls, Latin-1 punctuation */
	       (cp >= 0x2000 && cp <= 0x206f) ||  /* general punctuation */
	       (cp >= 0x3000 && cp <= 0x303f) ||  /* CJK symbols and punctuation */
	       cp == 0x30fb ||                    /* katakana middle dot */
	       (cp >= 0xff01 && cp <= 0xff0f) || (cp >= 0xff1a && cp <= 0xff20) ||
	       (cp >= 0xff3b && cp <= 0xff40) || (cp >= 0xff5b && cp <= 0xff65);  /* fullwidth */
}

/* Scripts written without spaces between words: indexed as bigrams. */
static int is_cjk(uint32_t cp)
{
	return (cp >= 0x2e80 && cp <= 0x2fdf) ||  /* radicals */
	       (cp >= 0x3040 && cp <= 0x31ff) ||  /* kana, bopomofo, Hangul jamo */
	       (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x4e00 && cp <= 0x9fff) ||  /* ideographs */
	       (cp >= 0xa960 && cp <= 0xa97f) || (cp >= 0xac00 && cp <= 0xd7af) ||  /* Hangul */
	       (cp >= 0xf900 && cp <= 0xfaff) ||  /* compatibility ideographs */
	       (cp >= 0xff66 && cp <= 0xff9f) ||  /* halfwidth katakana */
	       (cp >= 0x20000 && cp <= 0x3ffff);  /* ideographs, planes 2 and 3 */
}

size_t ml_tokens_words(const char *text, size_t n, ml_word_fn fn, void *ctx)
{
	unsigned char w[ML_WORD_MAX + 4];
	unsigned char bi[8];     /* the previous CJK character, then the pair */
	size_t count = 0, i = 0, len = 0, prev = 0, cjk_run = 0;
	const unsigned char *s = (const unsigned char *)text;
#define EMIT(p, k) do { fn(ctx, (const char *)(p), (k)); count++; } while (0)
	/* the end of a CJK run: a lone character is a word of its own */
#define END_CJK() do { if (cjk_run == 1) EMIT(bi, prev); cjk_run = 0; } while (0)
#define END_WORD() do { if (len) EMIT(w, len); len = 0; } while (0)
	while (i < n) {
		while (i < n && !is_word_byte(s[i]))
			i++;
		size_t st = i;
		while (i < n && is_word_byte(s[i]))
			i++;
		if (i == st)
			break;
		for (size_t j = st; j < i;) {
			unsigned char c = s[j];
			size_t k = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 1;
			if (j + k > i)
				k = i - j;
			uint32_t cp = k > 1 ? code_point(s + j, k) : c;
			if (k > 1 && is_separator(cp)) {
				END_CJK();
				END_WORD();
				j += k;
				continue;
			}
			if (k > 1 && is_cjk(cp)) {
				END_WORD();
				if (cjk_run) {
					memcpy(bi + prev, s + j, k);
					EMIT(bi, prev + k);
					memmove(bi, bi + prev, k);
				} else {
					memcpy(bi, s + j, k);
				}
				prev = k;
				cjk_run++;
				j += k;
				continue;
			}
			END_CJK();
			if (len + k > ML_WORD_MAX)
				END_WORD();
			for (size_t x = 0; x < k; x++) {
				unsigned char b = s[j + x];
				w[len++] = (b >= 'A' && b <= 'Z') ? b + 32 : b;
			}
			if (k == 2 && (w[len - 2] & 0xe0) == 0xc0)
				lower2(&w[len - 2], &w[len - 1]);
			j += k;
		}
		END_CJK();
		END_WORD();
	}
#undef EMIT
#undef END_CJK
#undef END_WORD
	return count;
}

typedef struct {
	ml_keys_t *k;
	int rc;
} word_sink_t;

static void add_word(void *ctx, const char *w, size_t n)
{
	word_sink_t *ws = ctx;
	if (!ws->rc)
		ws->rc = ml_keys_add(ws->k, ML_TAG_SUBJECT, w, n, 0);
}

static int add_addr(ml_keys_t *k, int tag, int dtag, ml_slice_t a)
{
	int rc = ml_keys_add(k, tag, a.p, a.n, 1);
	ml_slice_t d = ml_addr_domain(a);
	if (!rc && d.n)
		rc = ml_keys_add(k, dtag, d.p, d.n, 1);
	return rc;
}

int ml_status_domain_term(ml_buf_t *out, const char *status, const char *d, size_t n)
{
	int rc = ml_buf_puts(out, status);
	if (!rc)
		rc = ml_buf_putc(out, '@');
	if (!rc)
		rc = ml_buf_append_lower(out, d, n);
	return rc;
}

static int add_status_domain(ml_keys_t *k, const char *st, ml_slice_t d)
{
	char term[ML_TERM_MAX + 1];
	size_t sn = strlen(st);
	if (sn + 1 + d.n > ML_TERM_MAX)
		return ML_OK;
	memcpy(term, st, sn);
	term[sn] = '@';
	memcpy(term + sn + 1, d.p, d.n);
	return ml_keys_add(k, ML_TAG_STATUS_DOMAIN, term, sn + 1 + d.n, 1);
}

/* Sort keys and drop duplicates. */
static int cmp_key(const void *a, const void *b)
{
	const unsigned char *x = *(const unsigned char *const *)a, *y = *(const unsigned char *const *)b;
	size_t xn = (size_t)x[0] | (size_t)x[1] << 8, yn = (size_t)y[0] | (size_t)y[1] << 8;
	int c = memcmp(x + 2, y + 2, ML_MIN(xn, yn));
	return c ? c : (xn > yn) - (xn < yn);
}

static int sort_unique(ml_keys_t *k)
{
	if (k->count < 2)
		return ML_OK;
	const char **v = malloc(k->count * sizeof *v);
	if (!v)
		return ML_ENOMEM;
	size_t pos = 0, n = 0;
	const char *key;
	size_t len;
	while (ml_keys_next(k, &pos, &key, &len))
		v[n++] = key - 2;
	if (n > 64) {
		qsort(v, n, sizeof *v, cmp_key);
	} else {
		/* a message's few dozen keys: insertion sort, most compares
		 * settled by the keys' first 8 bytes as one number */
		uint64_t w[64];
		for (size_t i = 0; i < n; i++) {
			const unsigned char *x = (const unsigned char *)v[i];
			size_t xn = (size_t)x[0] | (size_t)x[1] << 8;
			uint64_t word = 0;
			for (size_t j = 0; j < 8; j++)
				word = word << 8 | (j < xn ? x[2 + j] : 0);
			w[i] = word;
		}
		for (size_t i = 1; i < n; i++) {
			const char *kv = v[i];
			uint64_t kw = w[i];
			size_t j = i;
			while (j > 0 && (w[j - 1] > kw || (w[j - 1] == kw && cmp_key(&v[j - 1], &kv) > 0))) {
				v[j] = v[j - 1];
				w[j] = w[j - 1];
				j--;
			}
			v[j] = kv;
			w[j] = kw;
		}
	}
	ml_buf_t out = ML_BUF_INIT;
	uint32_t cnt = 0;
	int rc = ml_buf_reserve(&out, k->buf.len);
	for (size_t i = 0; i < n && !rc; i++) {
		if (i && cmp_key(&v[i - 1], &v[i]) == 0)
			continue;
		const unsigned char *x = (const unsigned char *)v[i];
		rc = ml_buf_append(&out, x, 2 + ((size_t)x[0] | (size_t)x[1] << 8));
		cnt++;
	}
	free(v);
	if (rc) {
		ml_buf_free(&out);
		return rc;
	}
	ml_buf_free(&k->buf);
	k->buf = out;
	k->count = cnt;
	return ML_OK;
}

/* The queue-ID terms: the message's own and the previous hop's ('q'; a
 * search by the first hop's queue ID finds the next), and the next hop's
 * while it is waited for ('n'). */
static int add_qids(const ml_message_t *m, ml_keys_t *k)
{
	unsigned char h[8];
	ml_str_t q[2] = { m->queue_id, m->prev_qid };
	for (int i = 0; i < 2; i++)
		if (q[i].len) {
			ml_slice_t v = ml_message_str(m, q[i]);
			ml_qid_term(v.p, v.n, h);
			int rc = ml_keys_add(k, ML_TAG_QID, (const char *)h, ML_ID_TERM_BYTES, 0);
			if (rc)
				return rc;
		}
	if (m->next_qid.len && !ml_message_handed_on(m)) {
		ml_slice_t v = ml_message_str(m, m->next_qid);
		ml_qid_term(v.p, v.n, h);
		return ml_keys_add(k, ML_TAG_NEXT_QID, (const char *)h, ML_ID_TERM_BYTES, 0);
	}
	return ML_OK;
}

int ml_tokens_message(const ml_message_t *m, ml_keys_t *k)
{
	int rc;
	ml_keys_reset(k);
	if ((rc = add_addr(k, ML_TAG_FROM, ML_TAG_FROM_DOMAIN, ml_message_str(m, m->from))))
		return rc;
	for (uint32_t i = 0; i < m->nrcpts; i++) {
		const ml_rcpt_t *r = &m->rcpts[i];
		if (r->to.len && (rc = add_addr(k, ML_TAG_TO, ML_TAG_TO_DOMAIN, ml_message_str(m, r->to))))
			return rc;
		if (r->orig_to.len && (rc = add_addr(k, ML_TAG_TO, ML_TAG_TO_DOMAIN, ml_message_str(m, r->orig_to))))
			return rc;
		if (r->flags & ML_RCPT_HANDED_ON)
			continue;  /* found by its address; its status is the next hop's */
		const char *st = ml_status_name(ml_message_row_status(m, r));
		if ((rc = ml_keys_add(k, ML_TAG_STATUS, st, strlen(st), 0)))
			return rc;
		ml_str_t addrs[2] = { r->to, r->orig_to };
		for (int a = 0; a < 2; a++) {
			ml_slice_t d = ml_addr_domain(ml_message_str(m, addrs[a]));
			if (d.n && (rc = add_status_domain(k, st, d)))
				return rc;
		}
	}
	if (!m->nrcpts) {
		const char *st = ml_status_name(ml_message_row_status(m, NULL));
		if ((rc = ml_keys_add(k, ML_TAG_STATUS, st, strlen(st), 0)))
			return rc;
	}
	if ((m->flags & ML_MSG_RELEASED) && (rc = ml_keys_add(k, ML_TAG_STATUS, "released", 8, 0)))
		return rc;
	if (m->direction) {
		const char *d = ml_direction_name(m->direction);
		if ((rc = ml_keys_add(k, ML_TAG_DIRECTION, d, strlen(d), 0)))
			return rc;
	}
	ml_slice_t s = ml_message_str(m, m->subject);
	word_sink_t ws = { k, 0 };
	if (s.n)
		ml_tokens_words(s.p, s.n, add_word, &ws);
	if (ws.rc)
		return ws.rc;
	unsigned char h[8];  /* the first ML_ID_TERM_BYTES are the term */
	if (m->message_id.len) {
		ml_slice_t id = ml_message_str(m, m->message_id);
		ml_msgid_term(id.p, id.n, h);
		if ((rc = ml_keys_add(k, ML_TAG_MSGID, (const char *)h, ML_ID_TERM_BYTES, 0)))
			return rc;
	}
	struct { int tag; ml_str_t v; int lower; } f[] = {
		{ ML_TAG_IP, m->client_ip, 1 }, { ML_TAG_HOST, m->host, 1 },
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(f); i++)
		if (f[i].v.len) {
			ml_slice_t v = ml_message_str(m, f[i].v);
			if ((rc = ml_keys_add(k, f[i].tag, v.p, v.n, f[i].lower)))
				return rc;
		}
	if ((rc = add_qids(m, k)))
		return rc;
	return sort_unique(k);
}

int ml_tokens_hop_keys(const ml_message_t *m, ml_keys_t *k)
{
	int rc = ML_OK;
	ml_keys_reset(k);
	for (uint32_t i = 0; i < m->nrcpts && !rc; i++) {
		const ml_rcpt_t *r = &m->rcpts[i];
		if (r->to.len)
			rc = ml_keys_add(k, ML_TAG_TO, ml_message_str(m, r->to).p, r->to.len, 1);
		if (!rc && r->orig_to.len)
			rc = ml_keys_add(k, ML_TAG_TO, ml_message_str(m, r->orig_to).p, r->orig_to.len, 1);
	}
	return rc ? rc : add_qids(m, k);
}
