#include "prune.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/message.h"
#include "index/counts.h"
#include "index/rowsum.h"
#include "index/postings.h"
#include "index/record.h"
#include "index/reports.h"
#include "index/tokens.h"

/* What one transaction did; added to the totals once it commits. */
typedef struct {
	uint64_t examined, deleted, kept, postings;
	int64_t messages;
	int64_t rows[ML_ST__COUNT];
	uint64_t next;     /* first docid not yet examined */
	int done;          /* reached the cutoff or the end of `rows` */
} chunk_t;

typedef struct {
	ml_store_t *s;
	ml_strtab_t tab;
	ml_message_t m;
	ml_keys_t keys;
	ml_post_batch_t *post;
	ml_counts_delta_t *counts;
	ml_rowsum_delta_t *rowsum;
	uint64_t before;
} pruner_t;

/* Queue the removal of every posting of m (decoded into p->m, docid given). */
static int delete_postings(pruner_t *p, uint64_t docid, chunk_t *c)
{
	int rc = ml_tokens_message(&p->m, &p->keys);
	size_t pos = 0, len;
	const char *key;
	while (!rc && ml_keys_next(&p->keys, &pos, &key, &len)) {
		rc = ml_post_batch_add(p->post, key, len, docid, 1);
		c->postings++;
	}
	return rc;
}

/*
 * One write transaction: examine up to `batch` records from docid `from`
 * below the cutoff.  Returns 0, an LMDB code (MDB_MAP_FULL, MDB_TXN_FULL:
 * the caller retries) or an ML_E* code.
 */
static int prune_chunk(pruner_t *p, int place, uint64_t from, unsigned batch, chunk_t *c)
{
	memset(c, 0, sizeof *c);
	c->next = from;
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	int rc = ml_store_write_begin(p->s, &txn);
	if (rc)
		return rc;
	ml_post_batch_reset(p->post);
	ml_counts_delta_reset(p->counts);
	int counts_on = ml_counts_ready(txn, p->s);
	ml_counts_delta_more(p->counts, ml_counts_more(txn, p->s));
	ml_rowsum_delta_reset(p->rowsum);
	int rowsum_on = ml_rowsum_ready(txn, p->s);
	rc = ml_store_strtab(txn, p->s, &p->tab);
	if (rc)
		goto fail;
	rc = mdb_cursor_open(txn, ml_store_rows_dbi(p->s, place), &cur);
	if (rc)
		goto fail;
	unsigned char kb[8];
	while (c->examined < batch) {
		ml_put_be64(kb, c->next);
		MDB_val k = { 8, kb }, v;
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		if (rc == MDB_NOTFOUND) {
			rc = 0;
			c->done = 1;
			break;
		}
		if (rc)
			goto fail;
		if (k.mv_size != 8) {
			rc = ML_CORRUPT_BKPT;
			goto fail;
		}
		uint64_t docid = ml_get_be64(k.mv_data);
		if (docid >= p->before) {
			c->done = 1;
			break;
		}
		c->examined++;
		c->next = docid + 1;
		rc = ml_row_decode(&p->tab, v.mv_data, v.mv_size, docid, &p->m);
		if (rc)
			goto fail;
		if (!(p->m.flags & ML_MSG_CLOSED)) {
			c->kept++;
			continue;
		}
		rc = delete_postings(p, docid, c);
		if (!rc)
			rc = ml_reports_drop(txn, p->s, docid, NULL);   /* its reports and their posting */
		if (rc)
			goto fail;
		/* its lines go with the last message of their block (prune_blocks),
		 * or, in the open tables, with it */
		rc = mdb_cursor_del(cur, 0);
		if (!rc && place == ML_PLACE_OPEN && !p->m.raw_key)
			rc = ml_store_raw_del(txn, p->s, ML_PLACE_OPEN, docid);
		if (rc)
			goto fail;
		c->deleted++;
		if (!(p->m.flags & ML_MSG_CONTINUED))
			c->messages--;
		ml_counts_rows(c->rows, &p->m, -1);
		if (counts_on && (rc = ml_counts_message(p->counts, &p->m, -1)))
			goto fail;
		if (rowsum_on && (rc = ml_rowsum_delta_del(p->rowsum, docid)))
			goto fail;
	}
	mdb_cursor_close(cur);
	cur = NULL;
	{
		int64_t d = 0;
		rc = ml_post_batch_write(p->post, txn, p->s->post, &d);
		if (!rc)
			rc = ml_meta_add(txn, p->s, ML_META_POSTINGS, d);
	}
	if (!rc)
		rc = ml_meta_add(txn, p->s, ML_META_MESSAGES, c->messages);
	int dropped = 0;
	if (!rc && counts_on)
		rc = ml_counts_delta_write(p->counts, txn, p->s, &dropped);
	if (!rc && rowsum_on)
		rc = ml_rowsum_delta_write(p->rowsum, txn, p->s, &dropped);
	for (int st = 1; st < ML_ST__COUNT && !rc; st++) {
		char key[64];
		snprintf(key, sizeof key, "%s%s", ML_META_ROWS_PFX, ml_status_name((ml_status_t)st));
		rc = ml_meta_add(txn, p->s, key, c->rows[st]);
	}
	if (rc)
		goto fail;
	ml_strtab_free(&p->tab);   /* it viewed the transaction's map */
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc)
		goto fail;
	return 0;
fail:
	if (cur)
		mdb_cursor_close(cur);
	if (txn)
		mdb_txn_abort(txn);
	ml_strtab_free(&p->tab);
	return rc;
}

/* Delete the blocks of `raw` whose messages are all below the cutoff (the
 * closed messages below it are gone by now), up to batch of them in one
 * transaction, from block number `from` on (blocks are numbered as made,
 * not by time: each is looked at).  *more: some may be left; *next: where
 * to go on. */
static int prune_blocks(pruner_t *p, unsigned batch, uint64_t from, uint64_t *next, int *more)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	*more = 0;
	int rc = ml_store_write_begin(p->s, &txn);
	if (rc)
		return rc;
	rc = mdb_cursor_open(txn, p->s->raw, &cur);
	if (rc) {
		mdb_txn_abort(txn);
		return rc;
	}
	ml_buf_t blk = ML_BUF_INIT;
	unsigned n = 0, seen = 0;
	unsigned char kb[8];
	ml_put_be64(kb, from);
	MDB_val k = { 8, kb }, v;
	int r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (r == 0 && !rc) {
		if (k.mv_size == 10) {
			r = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
			continue;
		}
		uint64_t key = ml_get_be64(k.mv_data);
		if (n == batch || seen == 16 * batch) {
			*more = 1;
			*next = key;
			break;
		}
		seen++;
		uint64_t last;
		rc = ml_store_raw_get(txn, p->s, ML_PLACE_MAIN, key, &blk);
		if (!rc)
			rc = ml_rawblk_last_of(blk.data, blk.len, &last);
		if (!rc && last < p->before) {
			rc = ml_store_raw_del(txn, p->s, ML_PLACE_MAIN, key);
			n++;
		}
		ml_put_be64(kb, key + 1);
		k = (MDB_val){ 8, kb };
		r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	}
	mdb_cursor_close(cur);
	ml_buf_free(&blk);
	if (!rc && r && r != MDB_NOTFOUND)
		rc = r;
	if (rc) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_txn_commit(txn);
}

/* LMDB codes pass through prune_chunk for the retry decisions; the rest are ours. */
static int to_ml(int rc)
{
	return rc <= 0 ? rc : ml_store_errcode(rc);
}

int ml_prune_run(ml_store_t *s, const ml_prune_opts_t *o, ml_prune_progress_t *out)
{
	ml_prune_progress_t tot;
	memset(&tot, 0, sizeof tot);
	pruner_t p;
	memset(&p, 0, sizeof p);
	p.s = s;
	p.before = o->before_docid;
	ml_message_init(&p.m);
	unsigned batch = o->batch ? o->batch : ML_PRUNE_BATCH;
	MDB_txn *txn;
	int rc = ml_post_batch_new(&p.post);
	if (!rc)
		rc = ml_counts_delta_new(&p.counts);
	if (!rc)
		rc = ml_rowsum_delta_new(&p.rowsum);
	if (!rc)
		rc = ml_store_read_begin(s, &txn);
	if (!rc) {
		uint64_t last;
		rc = ml_store_docid_range(txn, s, &tot.first_docid, &last);
		mdb_txn_abort(txn);
	}
	/* the closed messages (oldest first), then the raw blocks left with no
	 * message */
	int place = ML_PLACE_MAIN, stopped = 0;
	uint64_t from = tot.first_docid;
	tot.next_docid = tot.first_docid;
	int grows = 0;
	while (!rc) {
		chunk_t c;
		rc = prune_chunk(&p, place, from, batch, &c);
		if (rc == MDB_MAP_FULL && grows++ < 8) {
			rc = ml_store_grow(s);  /* and the same chunk again */
			continue;
		}
		if (rc == MDB_TXN_FULL && batch > 1) {
			batch /= 2;  /* too many pages touched: smaller chunks */
			rc = 0;
			continue;
		}
		if (rc)
			break;
		grows = 0;
		tot.examined += c.examined;
		tot.deleted += c.deleted;
		tot.kept_in_flight += c.kept;
		tot.postings += c.postings;
		tot.transactions++;
		from = c.next;
		if (place == ML_PLACE_MAIN)
			tot.next_docid = c.next;
		if (o->progress && o->progress(o->ctx, &tot)) {
			stopped = 1;
			break;
		}
		if (c.done && place == ML_PLACE_MAIN) {
			/* then the open tables: late rows (closed there), and the
			 * messages in flight, kept and counted */
			place = ML_PLACE_OPEN;
			from = tot.first_docid;
			continue;
		}
		if (c.done)
			break;
	}
	uint64_t bfrom = 0;
	for (int more = 1; !rc && !stopped && more;) {
		rc = prune_blocks(&p, batch, bfrom, &bfrom, &more);
		if (rc == MDB_MAP_FULL && grows++ < 8) {
			rc = ml_store_grow(s);
			more = 1;
		}
	}
	rc = to_ml(rc);
	ml_message_free(&p.m);
	ml_keys_free(&p.keys);
	ml_post_batch_free(p.post);
	ml_counts_delta_free(p.counts);
	ml_rowsum_delta_free(p.rowsum);
	ml_strtab_free(&p.tab);
	if (out)
		*out = tot;
	return rc;
}

int ml_prune_space(ml_store_t *s, uint64_t *file_bytes, uint64_t *free_bytes)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_stat st;
	uint64_t pages = 0;
	*file_bytes = ml_store_file_bytes(s);
	*free_bytes = 0;
	int rc = ml_store_read_begin(s, &txn);
	if (rc)
		return rc;
	mdb_env_stat(s->env, &st);
	/* the free list: key a transaction id, value a list of page numbers
	 * whose first word is their count (LMDB's IDL) */
	rc = mdb_cursor_open(txn, 0, &cur);
	if (!rc) {
		MDB_val k, v;
		int r2 = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
		while (r2 == 0) {
			if (v.mv_size >= sizeof(size_t)) {
				size_t n;
				memcpy(&n, v.mv_data, sizeof n);
				pages += n;
			}
			r2 = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
		}
		mdb_cursor_close(cur);
		if (r2 != MDB_NOTFOUND)
			rc = r2;
	}
	MDB_envinfo info;
	mdb_env_info(s->env, &info);
	mdb_txn_abort(txn);
	/* and the pages past the last one in use, if the file has any */
	uint64_t used_end = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
	*free_bytes = pages * st.ms_psize;
	if (*file_bytes > used_end)
		*free_bytes += *file_bytes - used_end;
	return ml_store_errcode(rc);
}

/* The exclusive lock LMDB takes when it is alone: a write lock on byte 0 of
 * the lock file.  Returns 0 when taken, 1 when another process holds it. */
static int lock_exclusive(int fd)
{
	struct flock fl;
	memset(&fl, 0, sizeof fl);
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = 0;
	fl.l_len = 1;
	int rc;
	while ((rc = fcntl(fd, F_SETLK, &fl)) != 0 && errno == EINTR)
		;
	if (rc == 0)
		return 0;
	return errno == EACCES || errno == EAGAIN ? 1 : -1;
}

static int fsync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

int ml_prune_compact(const char *path, uint64_t *before, uint64_t *after, char *err, size_t errlen)
{
	char *tmp = NULL, *lock = NULL;
	MDB_env *env = NULL;
	int lfd = -1, locked = 0, rc = ML_OK, mrc = 0;
	struct stat st;
	*before = *after = 0;
	if ((rc = ml_store_check_file(path, 0, &st, err, errlen)))
		return rc;
	*before = (uint64_t)st.st_size;
	size_t n = strlen(path);
	tmp = malloc(n + 16);
	lock = malloc(n + 8);
	if (!tmp || !lock) {
		rc = ML_ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	snprintf(tmp, n + 16, "%s.compact-tmp", path);
	snprintf(lock, n + 8, "%s-lock", path);

	lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lfd < 0) {
		snprintf(err, errlen, "%s: %s", lock, strerror(errno));
		rc = ML_EIO;
		goto fail;
	}
	int busy = lock_exclusive(lfd);
	if (busy) {
		if (busy > 0)
			snprintf(err, errlen, "%s: in use by another process (ingest, serve or a search); "
			         "compact needs the database to itself: stop them and run it again", path);
		else
			snprintf(err, errlen, "%s: cannot lock: %s", lock, strerror(errno));
		rc = ML_EIO;
		goto fail;
	}
	locked = 1;
	/* a file left by a compaction that was killed */
	if (unlink(tmp) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "%s: cannot remove: %s", tmp, strerror(errno));
		rc = ML_EIO;
		goto fail;
	}
	/* MDB_NOLOCK: the lock above keeps every other process out */
	if ((mrc = mdb_env_create(&env)) ||
	    (mrc = mdb_env_set_maxdbs(env, 8)) ||
	    (mrc = mdb_env_open(env, path, MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK, 0644)))
		goto fail_mdb;
	/* what every other command refuses is refused, before anything is
	 * written (schema 5 too: upgrade it first) */
	if ((rc = ml_store_check_env(env, path, 0, err, errlen)))
		goto fail;
	if ((mrc = mdb_env_copy2(env, tmp, MDB_CP_COMPACT)))
		goto fail_mdb;
	mdb_env_close(env);
	env = NULL;
	if (chmod(tmp, st.st_mode & 07777) != 0 || fsync_path(tmp, O_RDONLY) != 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		rc = ML_EIO;
		goto fail;
	}
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: cannot replace with the compacted copy: %s", path, strerror(errno));
		rc = ML_EIO;
		goto fail;
	}
	ml_store_sync_dir(path);
	/* The copy numbers its transactions from 1 again: open it once while
	 * still alone, so that LMDB re-initializes the lock file from it before
	 * a waiting process reads that file. */
	if ((mrc = mdb_env_create(&env)) ||
	    (mrc = mdb_env_set_maxdbs(env, 8)) ||
	    (mrc = mdb_env_open(env, path, MDB_NOSUBDIR, 0644)))
		goto fail_mdb;
	mdb_env_close(env);
	env = NULL;
	if (stat(path, &st) == 0)
		*after = (uint64_t)st.st_size;
	goto done;
fail_mdb:
	rc = ml_store_env_error(mrc, path, err, errlen);
	/* the copy's writes: EFBIG or ENOSPC (ML_ENOSPC), or EIO for a short write */
	if (rc == ML_ENOSPC || rc == ML_EFULL || rc == ML_EIO) {
		size_t el = strlen(err);
		snprintf(err + el, errlen > el ? errlen - el : 0, "%s",
		         rc == ML_ENOSPC ? ": the disk is full" : " (is the disk full?)");
	}
fail:
	if (env)
		mdb_env_close(env);
	if (locked)
		unlink(tmp);  /* ours: no other compact can be running */
done:
	/* closing the lock file lets waiting processes in */
	if (lfd >= 0)
		close(lfd);
	free(tmp);
	free(lock);
	return rc;
}
