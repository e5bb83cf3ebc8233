#include "strtab.h"

#include <stdlib.h>
#include <xxhash.h>

#define MAGIC "MLS1"
#define HDR_BYTES (16 + 8 * ML_SC__COUNT)

static uint32_t get_u32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static void put_u32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

int ml_strtab_view(ml_strtab_t *t, const void *data, size_t n)
{
	const unsigned char *p = data;
	ml_buf_t own = t->own;
	free(t->slots);
	memset(t, 0, sizeof *t);
	t->own = own;
	if (n < HDR_BYTES || memcmp(p, MAGIC, 4) != 0 || get_u32(p + 8) != ML_SC__COUNT)
		return ML_CORRUPT_BKPT;
	t->gen = get_u32(p + 4);
	uint32_t next = 0;
	for (int c = 0; c < ML_SC__COUNT; c++) {
		t->first[c] = get_u32(p + 12 + 8 * c);
		t->count[c] = get_u32(p + 16 + 8 * c);
		if (t->first[c] != next || t->count[c] > ML_STRTAB_MAX_ENTRIES)
			return ML_CORRUPT_BKPT;
		next += t->count[c];
	}
	t->n = get_u32(p + 12 + 8 * ML_SC__COUNT);
	if (t->n != next || (uint64_t)HDR_BYTES + 4 * ((uint64_t)t->n + 1) > n)
		return ML_CORRUPT_BKPT;
	t->offs = p + HDR_BYTES;
	t->text = t->offs + 4 * ((size_t)t->n + 1);
	size_t room = n - (size_t)(t->text - p);
	uint32_t prev = 0;
	for (uint32_t i = 0; i <= t->n; i++) {
		uint32_t o = get_u32(t->offs + 4 * (size_t)i);
		if (o < prev || o > room || (i == 0 && o != 0))
			return ML_CORRUPT_BKPT;
		prev = o;
	}
	if (t->gen == 0)
		return ML_CORRUPT_BKPT;
	t->src = data;
	t->src_n = n;
	return ML_OK;
}

int ml_strtab_copy(ml_strtab_t *t, const void *p, size_t n)
{
	ml_buf_reset(&t->own);
	int rc = ml_buf_append(&t->own, p, n);
	if (rc)
		return rc;
	return ml_strtab_view(t, t->own.data, n);
}

void ml_strtab_free(ml_strtab_t *t)
{
	ml_buf_free(&t->own);
	free(t->slots);
	memset(t, 0, sizeof *t);
}

static uint64_t hash_of(int cls, const char *p, size_t n)
{
	return XXH3_64bits_withSeed(p, n, (uint64_t)cls + 1);
}

int ml_strtab_index(ml_strtab_t *t)
{
	free(t->slots);
	t->slots = NULL;
	uint32_t ns = 16;
	while (ns < 2 * t->n)
		ns *= 2;
	t->slots = calloc(ns, sizeof *t->slots);
	if (!t->slots)
		return ML_ENOMEM;
	t->nslots = ns;
	for (int c = 0; c < ML_SC__COUNT; c++)
		for (uint32_t k = 0; k < t->count[c]; k++) {
			ml_slice_t v = ML_SLICE_NULL;
			ml_strtab_get(t, c, k, &v);
			uint32_t h = (uint32_t)hash_of(c, v.p, v.n) & (ns - 1);
			while (t->slots[h])
				h = (h + 1) & (ns - 1);
			t->slots[h] = t->first[c] + k + 1;
		}
	return ML_OK;
}

int ml_strtab_find(const ml_strtab_t *t, int cls, const char *p, size_t n, uint32_t *code)
{
	if (!t->nslots || !t->count[cls])
		return 0;
	uint32_t h = (uint32_t)hash_of(cls, p, n) & (t->nslots - 1);
	for (uint32_t e; (e = t->slots[h]) != 0; h = (h + 1) & (t->nslots - 1)) {
		uint32_t i = e - 1;
		if (i < t->first[cls] || i >= t->first[cls] + t->count[cls])
			continue;
		ml_slice_t v = ML_SLICE_NULL;
		if (ml_strtab_get(t, cls, i - t->first[cls], &v) == 0 && v.n == n && memcmp(v.p, p, n) == 0) {
			*code = i - t->first[cls];
			return 1;
		}
	}
	return 0;
}

int ml_strtab_reply_mask(const ml_message_t *m, const ml_rcpt_t *r, ml_buf_t *out)
{
	ml_slice_t s = ml_message_str(m, r->reason), to = ml_message_str(m, r->to);
	size_t i = 0;
	int rc = 0;
	while (i < s.n && !rc) {
		if (to.n && s.n - i >= to.n && s.p[i] == to.p[0] && memcmp(s.p + i, to.p, to.n) == 0) {
			rc = ml_buf_append(out, "\1\1", 2);
			i += to.n;
		} else if (s.p[i] == 1) {
			rc = ml_buf_append(out, "\1\2", 2);
			i++;
		} else {
			rc = ml_buf_putc(out, s.p[i]);
			i++;
		}
	}
	return rc;
}

int ml_strtab_reply_unmask(const char *p, size_t n, ml_slice_t to, ml_buf_t *out)
{
	const char *end = p + n;
	while (p < end) {
		const char *e = memchr(p, 1, (size_t)(end - p));
		size_t lit = e ? (size_t)(e - p) : (size_t)(end - p);
		int rc = ml_buf_append(out, p, lit);
		if (rc || !e)
			return rc;
		if (e + 1 >= end)
			return ML_CORRUPT_BKPT;
		rc = e[1] == 1 ? ml_buf_append(out, to.p, to.n) : e[1] == 2 ? ml_buf_putc(out, 1) : ML_CORRUPT_BKPT;
		if (rc)
			return rc;
		p = e + 2;
	}
	return ML_OK;
}

/* ---- training ---- */

typedef struct {
	uint64_t hash;
	uint32_t off, len;   /* into the trainer's text */
	uint32_t count;
	uint8_t cls;
} cand_t;

typedef struct {
	cand_t *c;
	size_t n, cap;       /* open addressing, cap a power of two */
	ml_buf_t text;
	int err;
} counter_t;

static void count_value(counter_t *k, int cls, const char *p, size_t n)
{
	if (k->err || n == 0 || n > 1024)
		return;
	if (2 * (k->n + 1) > k->cap) {
		size_t ncap = k->cap ? k->cap * 2 : 4096;
		cand_t *nc = calloc(ncap, sizeof *nc);
		if (!nc) {
			k->err = ML_ENOMEM;
			return;
		}
		for (size_t i = 0; i < k->cap; i++)
			if (k->c[i].count) {
				size_t h = k->c[i].hash & (ncap - 1);
				while (nc[h].count)
					h = (h + 1) & (ncap - 1);
				nc[h] = k->c[i];
			}
		free(k->c);
		k->c = nc;
		k->cap = ncap;
	}
	uint64_t hv = hash_of(cls, p, n);
	size_t h = hv & (k->cap - 1);
	for (; k->c[h].count; h = (h + 1) & (k->cap - 1)) {
		cand_t *x = &k->c[h];
		if (x->hash == hv && x->cls == cls && x->len == n && memcmp(k->text.data + x->off, p, n) == 0) {
			x->count++;
			return;
		}
	}
	if (k->text.len + n > ((size_t)256 << 20) || ml_buf_append(&k->text, p, n)) {
		k->err = ML_ENOMEM;
		return;
	}
	k->c[h] = (cand_t){ hv, (uint32_t)(k->text.len - n), (uint32_t)n, 1, (uint8_t)cls };
	k->n++;
}

static void count_str(counter_t *k, int cls, const ml_message_t *m, ml_str_t s)
{
	ml_slice_t v = ml_message_str(m, s);
	count_value(k, cls, v.p, v.n);
}

/* An address: whole, and its domain (for the addresses not kept whole). */
static void count_addr(counter_t *k, const ml_message_t *m, ml_str_t s)
{
	ml_slice_t v = ml_message_str(m, s);
	count_value(k, ML_SC_ADDR, v.p, v.n);
	const char *at = v.n ? memrchr(v.p, '@', v.n) : NULL;
	if (at)
		count_value(k, ML_SC_DOMAIN, at + 1, (size_t)(v.p + v.n - at - 1));
}

/* Order of the kept entries: by class, then most frequent first. */
static int cmp_cand(const void *a, const void *b)
{
	const cand_t *x = *(const cand_t *const *)a, *y = *(const cand_t *const *)b;
	if (x->cls != y->cls)
		return x->cls < y->cls ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return 0;
}

int ml_strtab_train(ml_message_t *const *msgs, size_t n, uint32_t gen, ml_buf_t *out)
{
	counter_t k = { 0 };
	ml_buf_t mask = ML_BUF_INIT;
	for (size_t i = 0; i < n && !k.err; i++) {
		const ml_message_t *m = msgs[i];
		count_str(&k, ML_SC_HOST, m, m->host);
		count_addr(&k, m, m->from);
		count_addr(&k, m, m->sasl_user);
		count_str(&k, ML_SC_SUBJECT, m, m->subject);
		count_str(&k, ML_SC_IP, m, m->client_ip);
		count_str(&k, ML_SC_NAME, m, m->client_name);
		count_str(&k, ML_SC_NAME, m, m->helo);
		ml_slice_t id = ml_message_str(m, m->message_id);
		const char *at = id.n ? memrchr(id.p, '@', id.n) : NULL;
		if (at)
			count_value(&k, ML_SC_MSGDOM, at + 1, (size_t)(id.p + id.n - at - 1));
		for (uint32_t r = 0; r < m->nrcpts && !k.err; r++) {
			const ml_rcpt_t *rc = &m->rcpts[r];
			count_addr(&k, m, rc->to);
			count_addr(&k, m, rc->orig_to);
			count_str(&k, ML_SC_RELAY, m, rc->relay);
			count_str(&k, ML_SC_DSN, m, rc->dsn);
			ml_buf_reset(&mask);
			if (ml_strtab_reply_mask(m, rc, &mask)) {
				k.err = ML_ENOMEM;
				break;
			}
			/* every beginning that ends before a space, and the whole */
			for (size_t j = 1; j <= mask.len; j++)
				if (j == mask.len || mask.data[j] == ' ')
					count_value(&k, ML_SC_REPLY, mask.data, j);
		}
	}
	ml_buf_free(&mask);
	int rc = k.err;
	cand_t **keep = NULL;
	size_t nk = 0;
	if (!rc && k.n) {
		keep = malloc(k.n * sizeof *keep);
		if (!keep)
			rc = ML_ENOMEM;
		for (size_t i = 0; keep && i < k.cap; i++)
			if (k.c[i].count >= 2)
				keep[nk++] = &k.c[i];
		if (keep)
			qsort(keep, nk, sizeof *keep, cmp_cand);
	}
	/* cap each class and the whole */
	uint32_t count[ML_SC__COUNT] = { 0 };
	size_t text = 0, w = 0;
	for (size_t i = 0; i < nk; i++) {
		cand_t *x = keep[i];
		if (count[x->cls] >= ML_STRTAB_MAX_ENTRIES || text + x->len > ML_STRTAB_MAX_BYTES)
			continue;
		/* by class, and within one the most frequent first (the smallest
		 * numbers); distinct, as counted */
		ML_ASSERT(!w || keep[w - 1]->cls < x->cls ||
		          (keep[w - 1]->cls == x->cls && keep[w - 1]->count >= x->count));
		count[x->cls]++;
		text += x->len;
		keep[w++] = x;
	}
	nk = w;
	ml_buf_reset(out);
	size_t total = HDR_BYTES + 4 * (nk + 1) + text;
	if (!rc)
		rc = ml_buf_reserve(out, total);
	if (!rc) {
		unsigned char *p = (unsigned char *)out->data;
		memcpy(p, MAGIC, 4);
		put_u32(p + 4, gen ? gen : 1);
		put_u32(p + 8, ML_SC__COUNT);
		uint32_t first = 0;
		for (int c = 0; c < ML_SC__COUNT; c++) {
			put_u32(p + 12 + 8 * c, first);
			put_u32(p + 16 + 8 * c, count[c]);
			first += count[c];
		}
		put_u32(p + 12 + 8 * ML_SC__COUNT, (uint32_t)nk);
		unsigned char *offs = p + HDR_BYTES, *tx = offs + 4 * (nk + 1);
		uint32_t o = 0;
		for (size_t i = 0; i < nk; i++) {
			put_u32(offs + 4 * i, o);
			memcpy(tx + o, k.text.data + keep[i]->off, keep[i]->len);
			o += keep[i]->len;
		}
		put_u32(offs + 4 * nk, o);
		/* the text is what was counted: every entry is within the table */
		ML_ASSERT(o == text);
		out->len = total;
	}
	free(keep);
	free(k.c);
	ml_buf_free(&k.text);
	return rc;
}
