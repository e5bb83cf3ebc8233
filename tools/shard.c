#include "shard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/util.h"
#include "tools/cluster.h"
#include "tools/coord.h"
#include "tools/ingest.h"

static const char shard_usage[] =
	"usage: mtalog ingest --nats URL --shard K/N [options]\n"
	"  a shard node: store the lines of the hosts of partition K (0..N-1) of the\n"
	"  cluster's stream (docs/cluster.md); SIGINT/SIGTERM stops it\n"
	"      --year Y  --local-domains D,..  --format F  --quiet  as for ingest\n";

#ifdef ML_NATS

#define SHARD_FETCH 1000        /* messages a fetch asks for */
#define SHARD_FETCH_MS 300      /* how long a fetch waits for them */
#define SHARD_HOSTS_MAX 65536
#define SHARD_CHECK_MS 2000     /* nothing fetched: the consumer's server checked this often */
#define SHARD_CHECK_WAIT_MS 2000   /* how long the stream and the consumer are asked for */
#define SHARD_REMAKE_TRIES 5    /* a consumer made on a server behind: made again this often */

typedef struct {
	char name[160];           /* "nats:" + the host's subject token */
	int64_t mtime;
	ml_syslog_ctx_t sc;
	ml_exim_time_t et;
} shard_host_t;

/* An input of a shipper (a log file, or a stdin stream) and where its next
 * line starts: a line is taken only there (go-back-N: after a failed
 * publish the shipper sends every line from the failed one again). */
typedef struct {
	uint64_t hash;
	uint64_t next;            /* end of the last line taken */
	int dirty;                /* moved since the last commit */
} shard_input_t;

typedef struct {
	natsConnection *nc;
	jsCtx *js;
	natsSubscription *sub;
	const ml_cluster_opts_t *co;
	int k, n;
	uint64_t stored;          /* stream sequence of the last line committed */
	uint64_t fed;             /* ... of the last line fed to the pipeline */
	natsMsg *last;            /* the last message fed: acknowledged after the commit */
	shard_host_t *hosts;
	size_t nhosts, cap;
	size_t hint;
	shard_input_t *inputs;
	size_t ninputs, inputs_cap, in_hint;
	uint64_t dropped;         /* lines not at their input's position (sent again, or twice) */
	uint64_t consumer_seq;    /* the consumer's delivery number of the last message */
	unsigned resyncs;
	unsigned behind;          /* consumers made again as their server was behind the stream */
	uint64_t check_last;      /* the stream's last sequence at the previous check (0: none yet) */
	uint64_t check_dseq;      /* the consumer's last delivery number at the previous check */
	double checked_at;        /* when (ml_ing_now) */
} shard_t;

/* The meta key of an input's position: ML_META_STREAM_INPUT_PFX + 16 hex. */
static void input_key(uint64_t hash, char *key, size_t len)
{
	snprintf(key, len, ML_META_STREAM_INPUT_PFX "%016llx", (unsigned long long)hash);
}

/* The input of hash (its stored position read on first sight); NULL when
 * out of memory. */
static shard_input_t *input_of(shard_t *s, ing_t *g, uint64_t hash, int *known)
{
	if (s->in_hint < s->ninputs && s->inputs[s->in_hint].hash == hash) {
		*known = 1;
		return &s->inputs[s->in_hint];
	}
	for (size_t i = s->ninputs; i-- > 0;)
		if (s->inputs[i].hash == hash) {
			s->in_hint = i;
			*known = 1;
			return &s->inputs[i];
		}
	if (ml_array_grow((void **)&s->inputs, &s->inputs_cap, sizeof *s->inputs, s->ninputs + 1, 64))
		return NULL;
	char key[64];
	input_key(hash, key, sizeof key);
	uint64_t next = ml_ing_txn(g) ? 0 : ml_writer_meta_u64(g->w, key);
	s->in_hint = s->ninputs;
	shard_input_t *in = &s->inputs[s->ninputs++];
	*in = (shard_input_t){ hash, next, 0 };
	*known = next != 0;
	return in;
}

static shard_host_t *host_of(shard_t *s, ing_t *g, const char *tok, int64_t mtime)
{
	shard_host_t *h = NULL;
	if (s->hint < s->nhosts && !strcmp(s->hosts[s->hint].name + 5, tok)) {
		h = &s->hosts[s->hint];
	} else {
		for (size_t i = 0; i < s->nhosts; i++)
			if (!strcmp(s->hosts[i].name + 5, tok)) {
				h = &s->hosts[i];
				s->hint = i;
				break;
			}
	}
	if (!h) {
		if (s->nhosts == SHARD_HOSTS_MAX)
			h = &s->hosts[SHARD_HOSTS_MAX - 1];   /* the last slot takes the overflow */
		else if (ml_array_grow((void **)&s->hosts, &s->cap, sizeof *s->hosts, s->nhosts + 1, 16))
			return NULL;
		else
			h = &s->hosts[s->nhosts++];
		snprintf(h->name, sizeof h->name, "nats:%s", tok);
		h->mtime = INT64_MIN;
		s->hint = (size_t)(h - s->hosts);
	}
	/* a new input of the host (another file's time): its own year reference,
	 * as a local ingest starts each file afresh */
	if (h->mtime == INT64_MIN || llabs(h->mtime - mtime) > 86400) {
		h->mtime = mtime;
		ml_syslog_ctx_init(&h->sc, (time_t)mtime, g->o->year);
		ml_exim_time_init(&h->et);
	}
	return h;
}

/* One message of the stream into the pipeline, when it is the next line of
 * its input; skipped otherwise. */
static int feed(shard_t *s, ing_t *g, natsMsg *m, uint64_t seq)
{
	const char *v = NULL;
	/* hash-offset+length[~gen] (tools/cluster.h) */
	unsigned long long hash, off, len;
	if (natsMsgHeader_Get(m, "Nats-Msg-Id", &v) != NATS_OK || !v ||
	    sscanf(v, "%16llx-%llu+%llu", &hash, &off, &len) != 3) {
		fprintf(stderr, "mtalog ingest: stream sequence %llu: no line position (Nats-Msg-Id %s): skipped\n",
		        (unsigned long long)seq, v ? v : "missing");
		s->dropped++;
		return ML_OK;
	}
	int known = 0;
	shard_input_t *in = input_of(s, g, hash, &known);
	if (!in)
		return ML_ENOMEM;
	int resume = natsMsgHeader_Get(m, ML_CLUSTER_HDR_RESUME, &v) == NATS_OK;
	if (known ? off != in->next && !(resume && off > in->next) : off != 0 && !resume) {
		s->dropped++;   /* before its input's position: twice; after it: a line before failed */
		return ML_OK;
	}
	if (known && off > in->next)
		fprintf(stderr, "mtalog ingest: input %016llx: the shipper goes on at byte %llu, this shard has its lines "
		        "to byte %llu: the lines between are missing\n", hash, off, (unsigned long long)in->next);
	in->next = off + len;
	in->dirty = 1;
	const char *subj = natsMsg_GetSubject(m);
	char pfx[64];
	int plen = snprintf(pfx, sizeof pfx, ML_CLUSTER_PART_PFX "%d.", s->k);
	const char *tok = strncmp(subj, pfx, (size_t)plen) ? subj : subj + plen;
	int64_t mtime = 0;
	if (natsMsgHeader_Get(m, ML_CLUSTER_HDR_MTIME, &v) == NATS_OK && v)
		mtime = strtoll(v, NULL, 10);
	shard_host_t *h = host_of(s, g, tok, mtime);
	if (!h)
		return ML_ENOMEM;
	ml_line_t l;
	memset(&l, 0, sizeof l);
	l.p = natsMsg_GetData(m);
	l.n = (size_t)natsMsg_GetDataLength(m);
	if (!l.p)
		l.p = "";
	l.full_len = l.n;
	if (natsMsgHeader_Get(m, ML_CLUSTER_HDR_LONG, &v) == NATS_OK && v) {
		l.flags |= ML_LINE_TOOLONG;
		l.full_len = (size_t)strtoull(v, NULL, 10);
	}
	l.off = off;
	l.end = off + len;
	l.lineno = seq;
	/* the shipper's --host: the host of a line that names none */
	g->line_host = natsMsgHeader_Get(m, ML_CLUSTER_HDR_HOST, &v) == NATS_OK && v ? ml_slice_cstr(v) : ML_SLICE_NULL;
	int rc = ml_ing_line(g, &h->sc, &h->et, h->name, &l);
	g->line_host = ML_SLICE_NULL;
	return rc;
}

static int shard_pre_commit(ing_t *g, void *ctx)
{
	shard_t *s = ctx;
	if (s->fed == s->stored)
		return ML_OK;
	uint8_t v[8];
	for (int i = 0; i < 8; i++)
		v[i] = (uint8_t)(s->fed >> (8 * i));
	char kn[32];
	int n = snprintf(kn, sizeof kn, "%d/%d", s->k, s->n);
	int rc = ml_writer_meta_put(g->w, ML_META_STREAM_SEQ, v, sizeof v);
	if (!rc)
		rc = ml_writer_meta_put(g->w, ML_META_STREAM_SHARD, kn, (size_t)n);
	for (size_t i = 0; i < s->ninputs && !rc; i++) {
		shard_input_t *in = &s->inputs[i];
		if (!in->dirty)
			continue;
		char key[64];
		input_key(in->hash, key, sizeof key);
		for (int b = 0; b < 8; b++)
			v[b] = (uint8_t)(in->next >> (8 * b));
		rc = ml_writer_meta_put(g->w, key, v, sizeof v);
	}
	return rc;
}

static void shard_post_commit(ing_t *g, void *ctx)
{
	(void)g;
	shard_t *s = ctx;
	s->stored = s->fed;
	for (size_t i = 0; i < s->ninputs; i++)
		s->inputs[i].dirty = 0;
	if (s->last) {
		natsMsg_Ack(s->last, NULL);   /* lost: redelivered, skipped by its sequence */
		natsMsg_Destroy(s->last);
		s->last = NULL;
	}
}

typedef struct {
	char val[32];
	int found;
} shard_meta_t;

static int get_shard_meta(void *ctx, const char *key, size_t kn, const void *v, size_t vn)
{
	shard_meta_t *m = ctx;
	if (kn == strlen(ML_META_STREAM_SHARD) && !memcmp(key, ML_META_STREAM_SHARD, kn)) {
		snprintf(m->val, sizeof m->val, "%.*s", (int)ML_MIN(vn, sizeof m->val - 1), (const char *)v);
		m->found = 1;
	}
	return 0;
}

static void durable_name(const shard_t *s, char *out, size_t len)
{
	snprintf(out, len, "mtalog-shard-%d-%d", s->k, s->n);
}

/* 1 when the server leading this shard's consumer holds the stream only to
 * a sequence before the last line this shard fed (which the stream's leader
 * holds), or (with since_check) says nothing is pending while it has not
 * reached the stream's last sequence of the previous check.  Such a server
 * is behind the stream (a server started again that has not caught up, or
 * whose catch-up stalled): the consumer delivers only what that server
 * holds, and nothing more while it stays behind.  Also 1 (with
 * since_check) when the consumer delivered more than this shard got and
 * nothing more came since the previous check: deliveries lost with no
 * later one to show the gap.  0 when none of these, or it cannot be told.
 * With since_check, the stream's last sequence and the consumer's last
 * delivery number are kept for the next check. */
static int consumer_behind(shard_t *s, int since_check, char *why, size_t len)
{
	jsOptions jo;
	jsOptions_Init(&jo);
	jo.Wait = SHARD_CHECK_WAIT_MS;
	jsErrCode jerr = 0;
	uint64_t last = 0;   /* the stream's, as its leader tells */
	jsStreamInfo *si = NULL;
	if (js_GetStreamInfo(&si, s->js, s->co->stream, &jo, &jerr) == NATS_OK)
		last = si->State.LastSeq;
	jsStreamInfo_Destroy(si);
	char durable[64];
	durable_name(s, durable, sizeof durable);
	jsConsumerInfo *ci = NULL;
	int behind = 0;
	if (js_GetConsumerInfo(&ci, s->js, s->co->stream, durable, &jo, &jerr) == NATS_OK) {
		uint64_t d = ci->Delivered.Stream;
		char srv[80] = "";
		if (ci->Cluster && ci->Cluster->Leader && *ci->Cluster->Leader)
			snprintf(srv, sizeof srv, " %s", ci->Cluster->Leader);
		if (d < s->fed && s->fed <= last) {
			behind = 1;
			snprintf(why, len, "its server%s holds the stream to sequence %llu, before %llu read already",
			         srv, (unsigned long long)d, (unsigned long long)s->fed);
		} else if (since_check && !ci->NumPending && d < s->check_last) {
			behind = 1;
			snprintf(why, len, "its server%s holds the stream to sequence %llu and has nothing pending; "
			         "the stream was at %llu %d s ago", srv, (unsigned long long)d,
			         (unsigned long long)s->check_last, SHARD_CHECK_MS / 1000);
		} else if (since_check && ci->Delivered.Consumer > s->consumer_seq &&
		           ci->Delivered.Consumer == s->check_dseq) {
			/* deliveries lost with no later one to show the gap */
			behind = 1;
			snprintf(why, len, "its server%s delivered up to number %llu, this shard got up to %llu, "
			         "and nothing more came in %d s", srv, (unsigned long long)ci->Delivered.Consumer,
			         (unsigned long long)s->consumer_seq, SHARD_CHECK_MS / 1000);
		}
		if (since_check)
			s->check_dseq = ci->Delivered.Consumer;
	}
	jsConsumerInfo_Destroy(ci);
	if (since_check)
		s->check_last = last;
	return behind;
}

/* The durable consumer of this shard, made afresh from the sequence after
 * the last one fed; made again while its server is behind the stream. */
static int make_consumer(shard_t *s, const ml_cluster_opts_t *co, char *err, size_t errlen);

static int subscribe(shard_t *s, const ml_cluster_opts_t *co, char *err, size_t errlen)
{
	char why[256], kn[32];
	snprintf(kn, sizeof kn, "%d/%d", s->k, s->n);
	int rc;
	for (int tries = 1;; tries++) {
		rc = make_consumer(s, co, err, errlen);
		if (rc || tries == SHARD_REMAKE_TRIES || !consumer_behind(s, 0, why, sizeof why))
			break;
		fprintf(stderr, "mtalog ingest: shard %s: the consumer made from stream sequence %llu is behind "
		        "(%s): made again\n", kn, (unsigned long long)s->fed + 1, why);
		s->behind++;
		nats_Sleep(200);
	}
	/* the next check keeps the stream's end; the one after compares */
	s->check_last = 0;
	s->checked_at = ml_ing_now();
	return rc;
}

static int make_consumer(shard_t *s, const ml_cluster_opts_t *co, char *err, size_t errlen)
{
	if (s->sub) {
		natsSubscription_Unsubscribe(s->sub);
		natsSubscription_Destroy(s->sub);
		s->sub = NULL;
	}
	s->consumer_seq = 0;
	s->check_dseq = 0;
	/* the last message fed came through the consumer made before: an
	 * acknowledgement of it (AckAll, by its delivery number) would
	 * acknowledge the new consumer's deliveries up to that number */
	natsMsg_Destroy(s->last);
	s->last = NULL;
	char durable[64], filter[64];
	durable_name(s, durable, sizeof durable);
	snprintf(filter, sizeof filter, ML_CLUSTER_PART_PFX "%d.*", s->k);
	jsErrCode jerr = 0;
	natsStatus st = NATS_OK;
	for (int tries = 0; tries < 60; tries++) {
		st = js_DeleteConsumer(s->js, co->stream, durable, NULL, &jerr);
		if (st == NATS_OK || st == NATS_NOT_FOUND)
			break;
		nats_Sleep(500);
	}
	jsConsumerConfig cc;
	jsConsumerConfig_Init(&cc);
	cc.Durable = durable;
	cc.DeliverPolicy = js_DeliverByStartSequence;
	cc.OptStartSeq = s->fed + 1;
	cc.AckPolicy = js_AckAll;
	cc.AckWait = 60LL * 1000000000LL;
	cc.MaxAckPending = 1000000;
	cc.FilterSubject = filter;
	jsConsumerInfo *ci = NULL;
	for (int tries = 0; tries < 60; tries++) {
		st = js_AddConsumer(&ci, s->js, co->stream, &cc, NULL, &jerr);
		if (st == NATS_OK)
			break;
		nats_Sleep(500);
	}
	jsConsumerInfo_Destroy(ci);
	if (st != NATS_OK) {
		snprintf(err, errlen, "consumer %s of %s: %s (%d)", durable, co->stream, natsStatus_GetText(st), (int)jerr);
		return ML_EIO;
	}
	jsSubOptions so;
	jsSubOptions_Init(&so);
	so.Stream = co->stream;
	so.Consumer = durable;
	st = js_PullSubscribe(&s->sub, s->js, filter, durable, NULL, &so, &jerr);
	if (st != NATS_OK) {
		snprintf(err, errlen, "pull subscription %s: %s (%d)", durable, natsStatus_GetText(st), (int)jerr);
		return ML_EIO;
	}
	return ML_OK;
}

static int shard_source(ing_t *g, void *ctx)
{
	shard_t *s = ctx;
	int rc = ml_ing_txn(g);
	if (rc)
		return rc;
	s->stored = s->fed = ml_writer_meta_u64(g->w, ML_META_STREAM_SEQ);
	shard_meta_t sm = { "", 0 };
	ml_writer_meta_each(g->w, ML_META_STREAM_SHARD, get_shard_meta, &sm);
	char kn[32];
	snprintf(kn, sizeof kn, "%d/%d", s->k, s->n);
	if (sm.found && strcmp(sm.val, kn)) {
		snprintf(g->err, sizeof g->err, "%s holds shard %s of the stream, not %s", g->store->path, sm.val, kn);
		return ML_EINVAL;
	}
	char err[512];
	if ((rc = subscribe(s, s->co, err, sizeof err))) {
		snprintf(g->err, sizeof g->err, "%s", err);
		return rc;
	}
	if (!g->o->quiet)
		fprintf(stderr, "mtalog ingest: shard %s of %s, from stream sequence %llu\n", kn, s->co->stream,
		        (unsigned long long)s->stored + 1);
	int first = 1;
	double last_err = 0;
	while (!ml_ing_stop) {
		natsMsgList list = { 0 };
		jsErrCode jerr = 0;
		int resync = 0;
		natsStatus st = natsSubscription_Fetch(&list, s->sub, SHARD_FETCH, SHARD_FETCH_MS, &jerr);
		if (st != NATS_OK && st != NATS_TIMEOUT) {
			if (ml_ing_now() - last_err > 10) {
				fprintf(stderr, "mtalog ingest: shard %s: fetch: %s; trying again\n", kn, natsStatus_GetText(st));
				last_err = ml_ing_now();
			}
			resync = 1;   /* messages may have been sent that never came */
		}
		for (int i = 0; i < list.Count && !rc && !resync; i++) {
			natsMsg *m = list.Msgs[i];
			jsMsgMetaData *md = NULL;
			if (natsMsg_GetMetaData(&md, m) != NATS_OK)
				continue;
			uint64_t seq = md->Sequence.Stream, cseq = md->Sequence.Consumer;
			jsMsgMetaData_Destroy(md);
			/* a delivery missing (sent while a server went away): the
			 * consumer is made again after the last line fed */
			if (s->consumer_seq && cseq != s->consumer_seq + 1) {
				resync = 1;
				break;
			}
			s->consumer_seq = cseq;
			if (seq <= s->fed)
				continue;   /* a redelivery of a line fed already */
			if (first && seq > s->stored + 1 && s->stored)
				fprintf(stderr, "mtalog ingest: shard %s: the stream no longer holds sequences %llu to %llu "
				        "(retention): lines of this shard among them are missing\n", kn,
				        (unsigned long long)s->stored + 1, (unsigned long long)seq - 1);
			first = 0;
			if ((rc = feed(s, g, m, seq))) {
				snprintf(g->err, sizeof g->err, "stream sequence %llu: %s", (unsigned long long)seq,
				         ml_strerror(rc));
				break;
			}
			s->fed = seq;
			natsMsg_Destroy(s->last);
			s->last = m;
			list.Msgs[i] = NULL;
			if ((ml_ing_batch_due(g) || ml_ing_batch_age_ms(g) >= g->o->batch_ms) && (rc = ml_ing_commit(g, 1)))
				break;
		}
		int got = list.Count;
		natsMsgList_Destroy(&list);
		if (rc)
			return rc;
		if (!got && !resync) {
			/* the stream is quiet: what was read is stored now */
			if (g->batch_lines && (rc = ml_ing_commit(g, 0)))
				return rc;
			/* or the consumer's server is behind the stream */
			char why[256];
			if (ml_ing_now() - s->checked_at >= SHARD_CHECK_MS / 1000.0) {
				if (consumer_behind(s, 1, why, sizeof why)) {
					fprintf(stderr, "mtalog ingest: shard %s: the consumer is behind (%s): made again from "
					        "stream sequence %llu\n", kn, why, (unsigned long long)s->fed + 1);
					s->behind++;
					resync = 2;
				}
				s->checked_at = ml_ing_now();
			}
		}
		if (resync) {
			if (resync == 1)
				s->resyncs++;
			nats_Sleep(200);
			while (!ml_ing_stop && subscribe(s, s->co, err, sizeof err)) {
				fprintf(stderr, "mtalog ingest: shard %s: %s; trying again\n", kn, err);
				nats_Sleep(1000);
			}
		}
	}
	if (!g->o->quiet && (s->dropped || s->resyncs || s->behind))
		fprintf(stderr, "mtalog ingest: shard %s: %llu lines not at their input's position skipped (sent again "
		        "by a shipper); consumer made again %u times (%u on a server behind the stream)\n", kn,
		        (unsigned long long)s->dropped, s->resyncs + s->behind, s->behind);
	return ML_OK;
}

int ml_shard_main(const char *db, int argc, char **argv)
{
	ml_cluster_opts_t co;
	ml_cluster_opts_init(&co);
	ml_ingest_opts_t o = { .db_path = db, .batch_lines = 50000, .batch_ms = 1000, .report = stderr,
	                       .poll_ms = 100, .pre_commit = shard_pre_commit, .post_commit = shard_post_commit };
	shard_t s;
	memset(&s, 0, sizeof s);
	s.k = -1;
	for (int i = 1; i < argc; i++) {
		int r = ml_cluster_opt(&co, "ingest", argc, argv, &i);
		if (r < 0)
			return 1;
		if (r)
			continue;
		const char *a = argv[i];
		if (!strcmp(a, "--shard") && i + 1 < argc) {
			char *end;
			s.k = (int)strtol(argv[++i], &end, 10);
			s.n = *end == '/' ? (int)strtol(end + 1, &end, 10) : 0;
			if (*end || s.n < 1 || s.n > 1024 || s.k < 0 || s.k >= s.n) {
				fprintf(stderr, "mtalog ingest: --shard: '%s' is not K/N with 0 <= K < N <= 1024\n", argv[i]);
				return 1;
			}
		} else if (!strcmp(a, "--year") && i + 1 < argc) {
			o.year = atoi(argv[++i]);
			if (o.year < 1970 || o.year > 9999) {
				fprintf(stderr, "mtalog ingest: --year: '%s' is not a number from 1970 to 9999\n", argv[i]);
				return 1;
			}
		} else if (!strcmp(a, "--local-domains") && i + 1 < argc) {
			o.local_domains = argv[++i];
		} else if (!strcmp(a, "--format") && i + 1 < argc) {
			if ((o.format = ml_ingest_format(argv[++i])) < 0) {
				fprintf(stderr, "mtalog ingest: --format: '%s' is not auto, postfix, exim or sendmail\n", argv[i]);
				return 1;
			}
		} else if (!strcmp(a, "--batch-lines") && i + 1 < argc) {
			o.batch_lines = strtoull(argv[++i], NULL, 10);
			if (!o.batch_lines)
				o.batch_lines = 1;
		} else if (!strcmp(a, "--no-sync")) {
			o.nosync = 1;
		} else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
			o.quiet = 1;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(shard_usage, stdout);
			fputs(ml_cluster_usage, stdout);
			return 0;
		} else {
			fprintf(stderr, "mtalog ingest: '%s': a shard node reads no files and takes no such option\n", a);
			fputs(shard_usage, stderr);
			return 1;
		}
	}
	if (!co.url || s.k < 0) {
		fprintf(stderr, "mtalog ingest: a shard node needs --nats URL and --shard K/N\n");
		return 1;
	}
	char err[512], name[64];
	/* the searches are answered by a process of its own (tools/coord.h),
	 * forked before either connects */
	fflush(NULL);
	pid_t answers = fork();
	if (answers == 0)
		ml_coord_responder(db, &co, s.k, s.n);
	snprintf(name, sizeof name, "mtalog shard %d/%d", s.k, s.n);
	if (ml_cluster_connect(&co, name, NULL, &s.nc, &s.js, err, sizeof err)) {
		fprintf(stderr, "mtalog ingest: %s\n", err);
		if (answers > 0) {
			kill(answers, SIGTERM);
			waitpid(answers, NULL, 0);
		}
		return 2;
	}
	s.co = &co;
	o.source = shard_source;
	o.hook_ctx = &s;
	ml_ingest_result_t res;
	int ret = ml_ingest_run(&o, NULL, 0, &res);
	natsSubscription_Destroy(s.sub);
	natsMsg_Destroy(s.last);
	free(s.hosts);
	free(s.inputs);
	natsConnection_Close(s.nc);
	ml_cluster_close(s.nc, s.js);
	if (answers > 0) {
		kill(answers, SIGTERM);
		waitpid(answers, NULL, 0);
	}
	return ret;
}

#else

int ml_shard_main(const char *db, int argc, char **argv)
{
	(void)shard_usage;
	(void)db;
	(void)argc;
	(void)argv;
	fprintf(stderr, "mtalog ingest: --nats: this mtalog was built without NATS (libnats-dev); see docs/cluster.md\n");
	return 1;
}

#endif
