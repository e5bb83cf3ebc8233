#include "reparse.h"

#include <stdlib.h>
#include <time.h>

#include "engine/reader.h"
#include "index/query.h"
#include "index/writer.h"

/* A message by the number of its first line. */
typedef struct {
	uint64_t first_seq, docid;
} rp_ord_t;

/* A record being replayed: its lines from `pos` on. */
typedef struct {
	ml_message_t m;
	size_t pos;        /* byte offset of the next line in m.raw */
	uint32_t line;     /* its index */
	int64_t ref;       /* reference time for traditional timestamps */
} rp_rec_t;

typedef struct {
	rp_rec_t **h;
	size_t n, cap;
} rp_heap_t;

static uint64_t rp_key(const rp_rec_t *r)
{
	return r->m.seqs[r->line];
}

static void rp_sift_down(rp_heap_t *hp, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, best = i;
		if (l < hp->n && rp_key(hp->h[l]) < rp_key(hp->h[best]))
			best = l;
		if (l + 1 < hp->n && rp_key(hp->h[l + 1]) < rp_key(hp->h[best]))
			best = l + 1;
		if (best == i)
			return;
		rp_rec_t *t = hp->h[i];
		hp->h[i] = hp->h[best];
		hp->h[best] = t;
		i = best;
	}
}

static int rp_push(rp_heap_t *hp, rp_rec_t *r)
{
	if (ml_array_grow((void **)&hp->h, &hp->cap, sizeof *hp->h, hp->n + 1, 256))
		return ML_ENOMEM;
	size_t i = hp->n++;
	hp->h[i] = r;
	while (i > 0 && rp_key(hp->h[(i - 1) / 2]) > rp_key(hp->h[i])) {
		rp_rec_t *t = hp->h[i];
		hp->h[i] = hp->h[(i - 1) / 2];
		hp->h[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
	return ML_OK;
}

static int cmp_ord(const void *a, const void *b)
{
	const rp_ord_t *x = a, *y = b;
	if (x->first_seq != y->first_seq)
		return x->first_seq < y->first_seq ? -1 : 1;
	return (x->docid > y->docid) - (x->docid < y->docid);
}

/* The messages of the batch into the rebuild's transaction. */
static int rp_flush(ing_t *g)
{
	ml_message_t **msgs;
	size_t n = ml_corr_dirty(g->corr, &msgs);
	ml_corr_new_domains(g->corr, ml_ing_put_domain, g);
	int rc = ML_OK;
	for (size_t i = 0; i < n && !rc; i++)
		rc = ml_writer_put(g->w, msgs[i]);
	if (!rc)
		rc = ml_writer_flush(g->w);
	if (!rc)
		rc = ml_ing_learned(g);
	ml_buf_reset(&g->learned);
	ml_corr_done(g->corr);
	g->batch_lines = 0;
	return rc;
}

typedef struct {
	rp_ord_t **ord, **legacy;
	size_t *nord, *ord_cap, *nleg, *leg_cap;
	ml_reindex_progress_t *p;
} rp_pass1_t;

/* Pass 1: each message's first line number, from its row. */
static int rp_note(void *ctx, const ml_message_t *m, size_t bytes)
{
	rp_pass1_t *x = ctx;
	x->p->bytes_before += bytes;
	rp_ord_t o = { m->first_seq, m->docid };
	rp_ord_t **arr = o.first_seq ? x->ord : x->legacy;
	size_t *n = o.first_seq ? x->nord : x->nleg, *cap = o.first_seq ? x->ord_cap : x->leg_cap;
	int rc = ml_array_grow((void **)arr, cap, sizeof **arr, *n + 1, 4096);
	if (!rc)
		(*arr)[(*n)++] = o;
	return rc;
}

/* One whole reparse in one write transaction (ML_EFULL: the map filled). */
static int rp_once(ing_t *g, ml_reindex_fn fn, void *ctx, ml_reindex_progress_t *p)
{
	ml_store_t *s = g->store;
	ml_snap_t *sn = NULL;
	rp_ord_t *ord = NULL, *legacy = NULL;
	size_t nord = 0, ord_cap = 0, nleg = 0, leg_cap = 0;
	rp_heap_t hp = { 0 };
	rp_rec_t **pool = NULL;
	size_t npool = 0, pool_cap = 0;
	ml_message_t tmp;
	ml_message_init(&tmp);
	p->done = p->kept = p->bytes_before = 0;

	int rc = ml_snap_open(&sn, s);
	rp_pass1_t x = { &ord, &legacy, &nord, &ord_cap, &nleg, &leg_cap, p };
	if (!rc)
		rc = ml_snap_each_row(sn, rp_note, &x);
	p->total = nord + nleg;
	if (!rc && nord)
		qsort(ord, nord, sizeof *ord, cmp_ord);

	if (!rc)
		rc = ml_writer_rebuild_begin(g->w, ML_REBUILD_RETRAIN | ML_REBUILD_RAW_DICT);
	if (!rc)
		rc = ml_ing_load_local_domains(g);   /* as stored */

	/* pass 2: every line, in the order of its number */
	ml_syslog_ctx_t sc;
	ml_syslog_ctx_init(&sc, time(NULL), 0);
	ml_exim_time_t et;
	ml_exim_time_init(&et);
	size_t next = 0;
	uint64_t last_report = 0;
	while (!rc && (hp.n || next < nord)) {
		/* open the records whose first line comes before the heap's next */
		while (!rc && next < nord && (!hp.n || ord[next].first_seq < rp_key(hp.h[0]))) {
			rp_rec_t *r;
			if (npool) {
				r = pool[--npool];
			} else {
				r = calloc(1, sizeof *r);
				if (!r) {
					rc = ML_ENOMEM;
					break;
				}
				ml_message_init(&r->m);
			}
			rc = ml_snap_get(sn, ord[next].docid, &r->m);
			next++;
			p->done++;
			int usable = !rc && r->m.nlines && r->m.seqs && r->m.seqs[0];
			if (!rc && !usable) {
				/* lines without numbers: put again as it is, at the end */
				p->done--;
				rc = ml_array_grow((void **)&legacy, &leg_cap, sizeof *legacy, nleg + 1, 64);
				if (!rc)
					legacy[nleg++] = ord[next - 1];
			}
			if (usable) {
				r->pos = 0;
				r->line = 0;
				r->ref = r->m.last_us / 1000000 / 86400 * 86400 + 2 * 86400;
				rc = rp_push(&hp, r);
			} else if (ml_array_grow((void **)&pool, &pool_cap, sizeof *pool, npool + 1, 256) == 0) {
				pool[npool++] = r;
			} else {
				ml_message_free(&r->m);
				free(r);
			}
		}
		if (rc || !hp.n)
			break;
		rp_rec_t *r = hp.h[0];
		const char *line = r->m.raw.data + r->pos;
		const char *nl = memchr(line, '\n', r->m.raw.len - r->pos);
		size_t n = nl ? (size_t)(nl - line) : r->m.raw.len - r->pos;
		ml_line_t l = { .p = line, .n = n, .off = 0, .end = n, .lineno = r->line + 1, .full_len = n };
		if (sc.ref_time != (time_t)r->ref)
			sc.ref_time = (time_t)r->ref;
		g->replay_seq = r->m.seqs[r->line];
		g->line_host = ml_message_str(&r->m, r->m.host);  /* a line naming none had it */
		rc = ml_ing_line(g, &sc, &et, "(stored lines)", &l);
		g->replay_seq = 0;
		g->line_host = ML_SLICE_NULL;
		if (rc)
			break;
		r->pos += n + 1;
		r->line++;
		if (r->line < r->m.nlines && r->pos < r->m.raw.len && r->m.seqs[r->line]) {
			rp_sift_down(&hp, 0);
		} else {
			/* done with this record */
			hp.h[0] = hp.h[--hp.n];
			if (hp.n)
				rp_sift_down(&hp, 0);
			if (ml_array_grow((void **)&pool, &pool_cap, sizeof *pool, npool + 1, 256) == 0)
				pool[npool++] = r;
			else {
				ml_message_free(&r->m);
				free(r);
			}
		}
		if (g->batch_lines >= g->o->batch_lines) {
			rc = rp_flush(g);
			if (!rc && fn && p->done - last_report >= 1000) {
				last_report = p->done;
				if (fn(ctx, p))
					rc = ML_EINTR;
			}
		}
	}
	if (!rc)
		rc = rp_flush(g);
	/* records without line numbers: put again as they are; those without
	 * lines were made by another message's lines (a bounce a delivery
	 * notice announces) and the replay has made them again */
	for (size_t i = 0; i < nleg && !rc; i++) {
		rc = ml_snap_get(sn, legacy[i].docid, &tmp);
		p->done++;
		if (rc || !tmp.nlines)
			continue;
		tmp.docid = 0;
		rc = ml_writer_put(g->w, &tmp);
		if (!rc)
			rc = ml_writer_flush(g->w);
		p->kept++;
	}
	if (!rc)
		rc = ml_writer_commit(g->w);
	else
		ml_writer_abort(g->w);
	ml_corr_done(g->corr);
	if (fn && !rc)
		fn(ctx, p);
	for (size_t i = 0; i < hp.n; i++) {
		ml_message_free(&hp.h[i]->m);
		free(hp.h[i]);
	}
	for (size_t i = 0; i < npool; i++) {
		ml_message_free(&pool[i]->m);
		free(pool[i]);
	}
	free(hp.h);
	free(pool);
	free(ord);
	free(legacy);
	ml_message_free(&tmp);
	ml_snap_close(sn);
	return rc;
}

int ml_ingest_reparse(ml_store_t *s, int format, ml_reindex_fn fn, void *ctx,
                      ml_reindex_progress_t *out, char *err, size_t errlen)
{
	ml_ingest_opts_t o = { .db_path = s->path, .batch_lines = 200000, .batch_ms = 1000000,
	                       .quiet = 1, .format = format };
	ml_ingest_result_t res;
	memset(&res, 0, sizeof res);
	ml_reindex_progress_t p;
	memset(&p, 0, sizeof p);
	ing_t *g = calloc(1, sizeof *g);
	if (!g)
		return ML_ENOMEM;
	g->o = &o;
	g->res = &res;
	g->store = s;
	int rc = ml_reindex_prepare(s, &p);
	if (!rc)
		rc = ml_writer_new(&g->w, s);
	for (int tries = 0; !rc; tries++) {
		ml_corr_free(g->corr);
		ml_buf_free(&g->learned);
		g->corr = NULL;
		rc = ml_corr_new(&g->corr, ml_ing_load_open, g);
		if (!rc) {
			ml_ing_set_hops(g);
			rc = rp_once(g, fn, ctx, &p);
		}
		if (rc != ML_EFULL || tries == 6)
			break;
		p.restarts++;
		rc = ml_store_grow(s);
	}
	if (!rc)
		rc = ml_reindex_finish(s, &p);
	if (rc)
		ml_reindex_error(s, "reparse", rc, err, errlen);
	if (out)
		*out = p;
	ml_writer_free(g->w);
	ml_corr_free(g->corr);
	ml_buf_free(&g->learned);
	free(g);
	return rc;
}
