#include "follow.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/reader.h"
#include "index/writer.h"

/* --follow: one file being read.  The file a name names now, or one rotated
 * away, read (by its descriptor) until it has been quiet a while. */
typedef struct {
	char *path;              /* the name given (not owned) */
	ml_reader_t *r;          /* NULL: the name names no file yet */
	ml_input_id_t id;        /* of the open file */
	uint64_t offset;         /* end of the last line read (committed or not) */
	uint64_t lines;          /* lines of this input read, checkpointed ones included */
	uint64_t lineno;         /* the reader's number of the last line read */
	uint64_t size_seen;      /* its size when last read to its end */
	double quiet_since;      /* when it last gave a line (monotonic) */
	int at_end;              /* read to its end; read again when it grows */
	int partial;             /* a last line without '\n' is waiting */
	int retired;             /* the name now names another file */
	int dirty;               /* lines read since the last commit */
	int64_t since;           /* last commit under this name before this run; -1: none */
	ml_syslog_ctx_t sc;
	ml_exim_time_t et;
} fol_t;

/* A rotated copy looked at: not again until it changes. */
typedef struct {
	uint64_t dev, ino, size;
	int64_t mtime;
} seen_t;

struct ml_follow {
	fol_t *f;
	size_t n, cap;
	seen_t *seen;
	size_t nseen, seen_cap;
};

static double wall_s(void)
{
	return (double)time(NULL);
}

static void follow_ckpts(ing_t *g)
{
	for (size_t i = 0; i < g->fol->n; i++) {
		fol_t *f = &g->fol->f[i];
		if (!f->dirty || !f->r)
			continue;
		ml_ing_ckpt_set(g, &f->id, f->offset, f->lines, f->path);
	}
}

static fol_t *fol_add(ing_t *g, char *path)
{
	if (ml_array_grow((void **)&g->fol->f, &g->fol->cap, sizeof *g->fol->f, g->fol->n + 1, 4))
		return NULL;
	fol_t *f = &g->fol->f[g->fol->n++];
	memset(f, 0, sizeof *f);
	f->path = path;
	f->quiet_since = ml_ing_now();
	return f;
}

/* The checkpoint of an input: one not committed yet, else the stored one. */
static int ckpt_find(ing_t *g, uint64_t hash, ml_ckpt_t *out)
{
	for (unsigned i = 0; i < g->nckpts; i++)
		if (g->ckpts[i].hash == hash) {
			*out = g->ckpts[i];
			return ML_OK;
		}
	int rc = ml_ing_txn(g);
	return rc ? rc : ml_writer_ckpt_get(g->w, hash, out);
}

/* Open the file the name of f names now, at its checkpoint.  0 when the
 * name names no file yet (f->r stays NULL), ML_EINVAL when it is not a
 * plain file (read once by do_input instead). */
static int fol_open(ing_t *g, fol_t *f)
{
	char err[512] = "";
	ml_reader_t *r;
	if (ml_reader_open(&r, f->path, 0, err, sizeof err)) {
		if (access(f->path, F_OK) == 0)
			fprintf(stderr, "mtalog: %s\n", err);
		return ML_OK;
	}
	ml_input_id_t id = *ml_reader_id(r);
	if (id.compressed || id.is_stdin) {
		ml_reader_close(r);
		return ML_EINVAL;
	}
	uint64_t start = 0, lines = 0;
	ml_ckpt_t prev;
	int shrunk = 0;
	if (id.first_hash && ckpt_find(g, id.first_hash, &prev) == 0) {
		start = prev.offset;
		lines = prev.lines;
		if ((shrunk = id.size < start))
			start = ml_ing_shrunk(f->path, &id, start);
	}
	if (ml_reader_seek(r, start, 0)) {
		ml_reader_close(r);
		return ML_OK;
	}
	f->r = r;
	f->id = id;
	f->offset = start;
	f->lines = lines;
	f->lineno = 0;
	f->size_seen = 0;
	f->at_end = f->partial = f->retired = f->dirty = 0;
	if (shrunk) {
		/* the checkpoint moves back to the end, whether more comes or not */
		f->dirty = 1;
		ml_ing_ckpt_set(g, &id, start, lines, f->path);
	}
	f->quiet_since = ml_ing_now();
	ml_syslog_ctx_init(&f->sc, (time_t)id.mtime, g->o->year);
	ml_exim_time_init(&f->et);
	return ML_OK;
}

/* Read what f has beyond what was read.  Returns lines read, or < 0 for a
 * database error (g->err set). */
static long fol_pump(ing_t *g, fol_t *f)
{
	if (!f->r)
		return 0;
	struct stat st;
	if (ml_reader_fstat(f->r, &st) < 0)
		return 0;
	/* before the first line is known, first_hash is 0: wait for a line */
	if (f->id.first_hash == 0) {
		if (st.st_size == 0)
			return 0;
		ml_reader_close(f->r);
		f->r = NULL;
		int rc = fol_open(g, f);
		if (rc || !f->r || f->id.first_hash == 0)
			return 0;
	}
	int quiet = wall_s() - (double)st.st_mtime >= ML_PARTIAL_WAIT_S;
	if (f->at_end) {
		if ((uint64_t)st.st_size == f->size_seen && !(f->partial && quiet))
			return 0;
		/* shrunk, or written anew from its start: the rotation check
		 * sees to it */
		if ((uint64_t)st.st_size < f->offset || ml_reader_rehash(f->r) != f->id.first_hash)
			return 0;
		if (ml_reader_seek(f->r, f->offset, f->lineno))
			return 0;
		f->at_end = 0;
	}
	f->partial = 0;
	char err[512] = "";
	ml_line_t l;
	long n = 0;
	int got = 0;
	while (!ml_ing_stop && (got = ml_reader_next(f->r, &l, err, sizeof err)) > 0) {
		if ((l.flags & ML_LINE_PARTIAL) && !quiet) {
			f->partial = 1;   /* its writer will finish it */
			break;
		}
		g->input = &f->id;
		int rc = ml_ing_line(g, &f->sc, &f->et, f->path, &l);
		if (rc) {
			snprintf(g->err, sizeof g->err, "%s:%llu: %s", f->path, (unsigned long long)l.lineno,
			         ml_strerror(rc));
			return -1;
		}
		f->offset = l.end;
		f->lineno = l.lineno;
		f->lines++;
		f->dirty = 1;
		n++;
		if (ml_ing_batch_due(g) && ml_ing_commit(g, 1))
			return -1;
	}
	if (got < 0) {
		fprintf(stderr, "mtalog: %s\n", err);
		g->res->inputs_failed++;
		f->at_end = 1;
	}
	if (ml_ing_stop)
		return n;
	if (got == 0 || f->partial) {
		f->at_end = 1;
		f->size_seen = (uint64_t)st.st_size;
		if (ml_reader_fstat(f->r, &st) == 0)
			f->size_seen = (uint64_t)st.st_size;
	}
	if (n)
		f->quiet_since = ml_ing_now();
	return n;
}

/* The name of f names another file (rename and create), or the same file
 * shorter than what was read (copytruncate).  Returns 1 when rotated, 0 when
 * not, < 0 on a database error. */
static int fol_check_rotation(ing_t *g, size_t i)
{
	fol_t *f = &g->fol->f[i];
	struct stat st;
	if (stat(f->path, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;   /* renamed away and not created yet: wait */
	if (!f->r) {
		fol_open(g, &g->fol->f[i]);
		return 0;
	}
	if ((uint64_t)st.st_dev == f->id.dev && (uint64_t)st.st_ino == f->id.ino) {
		if ((uint64_t)st.st_size >= f->offset &&
		    ((uint64_t)st.st_size == f->size_seen || ml_reader_rehash(f->r) == f->id.first_hash))
			return 0;
		/* copytruncate: what was read is committed under the old input,
		 * then the file is read from its start as a new one */
		if (ml_ing_commit(g, 1))
			return -1;
		f = &g->fol->f[i];
		ml_reader_close(f->r);
		f->r = NULL;
		fol_open(g, f);
		return 1;
	}
	/* rename and create: the old file is drained while its writer may still
	 * write to it; the name is followed in a new slot */
	char *path = f->path;
	f->retired = 1;
	f->quiet_since = ml_ing_now();
	int64_t since = f->since;
	fol_t *nf = fol_add(g, path);
	if (!nf)
		return ML_ENOMEM;
	nf->since = since;
	fol_open(g, nf);
	return 1;
}

static int seen_before(ing_t *g, const struct stat *st)
{
	for (size_t i = 0; i < g->fol->nseen; i++) {
		seen_t *s = &g->fol->seen[i];
		if (s->dev == (uint64_t)st->st_dev && s->ino == (uint64_t)st->st_ino) {
			int same = s->size == (uint64_t)st->st_size && s->mtime == (int64_t)st->st_mtime;
			s->size = (uint64_t)st->st_size;
			s->mtime = (int64_t)st->st_mtime;
			return same;
		}
	}
	if (ml_array_grow((void **)&g->fol->seen, &g->fol->seen_cap, sizeof *g->fol->seen, g->fol->nseen + 1, 8) == 0)
		g->fol->seen[g->fol->nseen++] = (seen_t){ (uint64_t)st->st_dev, (uint64_t)st->st_ino,
		                                (uint64_t)st->st_size, (int64_t)st->st_mtime };
	return 0;
}

/* The folder of path ("." when none), into dir. */
static void path_dir(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');
	if (slash)
		snprintf(dir, len, "%.*s", (int)(slash == path ? 1 : slash - path), path);
	else
		snprintf(dir, len, ".");
}

typedef struct {
	const char *path;
	int64_t best;
} last_commit_t;

static int newer_commit(void *ctx, const char *key, size_t kn, const void *v, size_t vn)
{
	last_commit_t *lc = ctx;
	ml_ckpt_t c;
	if (ml_ckpt_parse(key, kn, v, vn, &c) == 0 && !strcmp(c.path, lc->path) && c.updated > lc->best)
		lc->best = c.updated;
	return 0;
}

/* The last commit time of a checkpoint of an input followed under this name;
 * -1 when none. */
static int64_t last_commit_of(ing_t *g, const char *path)
{
	last_commit_t lc = { path, -1 };
	if (!ml_ing_txn(g))
		ml_writer_meta_each(g->w, ML_META_CKPT_PFX, newer_commit, &lc);
	return lc.best;
}

typedef struct {
	char *path;
	struct timespec mtime;
} cand_t;

static int cmp_cand(const void *a, const void *b)
{
	const cand_t *x = a, *y = b;
	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	return (x->mtime.tv_nsec > y->mtime.tv_nsec) - (x->mtime.tv_nsec < y->mtime.tv_nsec);
}

/*
 * The rotated copies next to a followed name (NAME.1, NAME-20240102.gz, ...),
 * oldest first: a copy of an input read before is read on from its
 * checkpoint when it holds more; a copy never read is read whole when it was
 * written since the last commit under this name (`since`: rotated twice while
 * the follower was stopped).  Older copies are history, not ours to read.
 */
static int scan_siblings(ing_t *g, const char *path, int64_t since)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	const char *base = slash ? slash + 1 : path;
	path_dir(path, dir, sizeof dir);
	size_t blen = strlen(base);
	DIR *d = opendir(dir);
	if (!d)
		return ML_OK;
	cand_t *cands = NULL;
	size_t ncand = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, base, blen) || !e->d_name[blen] || !strchr(".-_", e->d_name[blen]))
			continue;
		char full[4096 + 256];
		snprintf(full, sizeof full, "%s/%s", dir, e->d_name);
		struct stat st;
		if (stat(full, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		int open_now = 0;
		for (size_t i = 0; i < g->fol->n; i++)
			if (g->fol->f[i].r && g->fol->f[i].id.dev == (uint64_t)st.st_dev &&
			    g->fol->f[i].id.ino == (uint64_t)st.st_ino)
				open_now = 1;
		if (open_now || seen_before(g, &st))
			continue;
		if (ml_array_grow((void **)&cands, &cap, sizeof *cands, ncand + 1, 8))
			break;
		cands[ncand].path = strdup(full);
		cands[ncand].mtime = st.st_mtim;
		if (cands[ncand].path)
			ncand++;
	}
	closedir(d);
	if (ncand)
		qsort(cands, ncand, sizeof *cands, cmp_cand);
	int rc = ML_OK;
	for (size_t i = 0; i < ncand && !rc && !ml_ing_stop; i++) {
		ml_reader_t *r;
		if (ml_reader_open(&r, cands[i].path, 0, NULL, 0))
			continue;
		ml_input_id_t id = *ml_reader_id(r);
		ml_reader_close(r);
		ml_ckpt_t prev;
		if (!id.first_hash)
			continue;
		if (ckpt_find(g, id.first_hash, &prev)) {
			if (since < 0 || cands[i].mtime.tv_sec < since)
				continue;
		} else if (!id.compressed && id.size <= prev.offset) {
			continue;
		}
		/* gzip may still be writing a compressed copy written to in the
		 * last seconds (logrotate's compress): read to its last whole
		 * line, the rest by a later scan (the copy changes meanwhile) */
		g->unfinished_gz = id.compressed && time(NULL) - cands[i].mtime.tv_sec < ML_PARTIAL_WAIT_S;
		rc = ml_ing_input(g, cands[i].path);
		g->unfinished_gz = 0;
	}
	for (size_t i = 0; i < ncand; i++)
		free(cands[i].path);
	free(cands);
	return rc;
}

static int follow_loop(ing_t *g, char **paths, int npaths, int ifd);

/* Watch the folders of the followed names: a write, a create or a rename
 * there ends the wait at once (the poll interval stays the fallback). */
static int watch_folders(char **paths, int npaths)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return -1;
	for (int i = 0; i < npaths; i++) {
		char dir[4096];
		path_dir(paths[i], dir, sizeof dir);
		inotify_add_watch(fd, dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
		                  IN_CLOSE_WRITE | IN_ATTRIB);
	}
	return fd;
}

static void wait_for_change(int ifd, unsigned ms)
{
	if (ifd < 0) {
		struct timespec d = { ms / 1000, (long)(ms % 1000) * 1000000L };
		nanosleep(&d, NULL);
		return;
	}
	struct pollfd p = { ifd, POLLIN, 0 };
	if (poll(&p, 1, (int)ms) > 0) {
		char buf[8192];
		while (read(ifd, buf, sizeof buf) > 0)
			;
	}
}

static void after_commit(ing_t *g)
{
	for (size_t i = 0; i < g->fol->n; i++)
		g->fol->f[i].dirty = 0;
}

int ml_follow(ing_t *g, char **paths, int npaths)
{
	struct ml_follow st = { 0 };
	g->fol = &st;
	g->before_commit = follow_ckpts;
	g->after_commit = after_commit;
	int ifd = watch_folders(paths, npaths);
	int rc = follow_loop(g, paths, npaths, ifd);
	if (ifd >= 0)
		close(ifd);
	if (!rc)
		rc = ml_ing_commit(g, 0);   /* while the files' positions are known */
	for (size_t i = 0; i < st.n; i++)
		if (st.f[i].r)
			ml_reader_close(st.f[i].r);
	free(st.f);
	free(st.seen);
	g->fol = NULL;
	g->before_commit = g->after_commit = NULL;
	return rc;
}

static int follow_loop(ing_t *g, char **paths, int npaths, int ifd)
{
	for (int i = 0; i < npaths; i++) {
		if (!strcmp(paths[i], "-")) {
			fprintf(stderr, "mtalog: --follow reads files; stdin is read to its end\n");
			int rc = ml_ing_input(g, paths[i]);
			if (rc)
				return rc;
			continue;
		}
		fol_t *f = fol_add(g, paths[i]);
		if (!f)
			return ML_ENOMEM;
		f->since = last_commit_of(g, paths[i]);
		if (fol_open(g, f) == ML_EINVAL) {
			/* compressed: it cannot grow */
			g->fol->n--;
			int rc = ml_ing_input(g, paths[i]);
			if (rc)
				return rc;
		} else if (!f->r && !g->o->quiet) {
			fprintf(stderr, "mtalog: %s: not there yet; waiting for it\n", paths[i]);
		}
	}
	double last_scan = 0;
	int rotated = 1;   /* the copies first: written before the file under the name */
	while (!ml_ing_stop) {
		double now = ml_ing_now();
		if (rotated || now - last_scan >= 2.0) {
			last_scan = now;
			for (size_t i = 0; i < g->fol->n; i++) {
				if (g->fol->f[i].retired)
					continue;
				int dup = 0;   /* one scan per name */
				for (size_t j = 0; j < i; j++)
					dup |= !g->fol->f[j].retired && !strcmp(g->fol->f[j].path, g->fol->f[i].path);
				if (!dup && scan_siblings(g, g->fol->f[i].path, g->fol->f[i].since))
					return ML_EIO;
			}
		}
		long got = 0;
		for (size_t i = 0; i < g->fol->n && !ml_ing_stop; i++) {
			long n = fol_pump(g, &g->fol->f[i]);
			if (n < 0)
				return ML_EIO;
			got += n;
		}
		if (ml_ing_stop)
			break;
		rotated = 0;
		for (size_t i = 0, n = g->fol->n; i < n; i++) {
			if (g->fol->f[i].retired)
				continue;
			int r = fol_check_rotation(g, i);
			if (r < 0)
				return r == -1 ? ML_EIO : r;
			rotated |= r;
		}
		now = ml_ing_now();
		/* drop rotated-away files that have been quiet long enough */
		for (size_t i = 0; i < g->fol->n;) {
			fol_t *f = &g->fol->f[i];
			if (f->retired && !f->dirty && f->at_end && now - f->quiet_since >= ML_PARTIAL_WAIT_S) {
				if (f->r)
					ml_reader_close(f->r);
				g->fol->f[i] = g->fol->f[--g->fol->n];
				continue;
			}
			i++;
		}
		if (g->batch_lines || g->nckpts) {
			/* quiet inputs: commit now (and hold no transaction while
			 * waiting); a steady stream: every batch_ms */
			if ((!got || ml_ing_batch_age_ms(g) >= g->o->batch_ms) && ml_ing_commit(g, got != 0))
				return ML_EIO;
		} else if (!got && ml_writer_active(g->w)) {
			ml_writer_abort(g->w);   /* nothing in it */
		}
		if (!got)
			wait_for_change(ifd, g->o->poll_ms ? g->o->poll_ms : 100);
	}
	return ML_OK;
}
