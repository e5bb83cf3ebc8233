/*
 * lag — how long a line written to a followed log takes to be searchable.
 *
 *   build/bench/lag --db DB --log FILE --traffic LOG [--seconds 60]
 *                   [--rate LINES_PER_S] [--probe-ms MS] [--tee COPY]
 *
 * Appends the lines of LOG (real-looking traffic, e.g. from bench/gen) to FILE
 * at --rate lines a second, and every --probe-ms a probe: a Postfix cleanup
 * line with a message-id of its own.  A `mtalog ingest --follow FILE` runs
 * beside it (bench/lag.sh starts it).  For each probe, the time from its
 * write(2) to the first search (through the library, polling every 0.5 ms)
 * that finds its message-id is its lag.  Prints the count, median, p90, p99
 * and max in milliseconds, then the rate the traffic was written at and the
 * median and p99 of each third of the run (a follower falling behind shows
 * as a lag that grows from one third to the next).
 *
 * Rotation, for the soak test (tests/soak/run.sh), as a syslog daemon and
 * logrotate do it, between two lines (no line is lost or cut):
 *   SIGHUP   FILE is opened again (after it was renamed: a new FILE);
 *   SIGUSR1  copytruncate: FILE is copied to FILE.1 (written aside, then
 *            renamed there) and cut to length 0.
 * --tee COPY appends every line written to FILE to COPY as well: all that
 * was written, in order, whatever the rotations did with FILE.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "index/query.h"
#include "index/store.h"

static volatile sig_atomic_t got_hup, got_usr1;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_usr1 = 1;
}

/* FILE copied to FILE.1 (through FILE.1.tmp), then cut to length 0. */
static int copytruncate(FILE *out, const char *logp)
{
	char dst[4096], tmp[4096], buf[65536];
	snprintf(dst, sizeof dst, "%s.1", logp);
	snprintf(tmp, sizeof tmp, "%s.1.tmp", logp);
	FILE *in = fopen(logp, "r"), *cp = fopen(tmp, "w");
	if (!in || !cp) {
		perror("lag: copytruncate");
		return -1;
	}
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		if (fwrite(buf, 1, n, cp) != n)
			break;
	int bad = ferror(in) || ferror(cp);
	fclose(in);
	if (fclose(cp) || bad || rename(tmp, dst)) {
		perror("lag: copytruncate");
		return -1;
	}
	if (ftruncate(fileno(out), 0)) {
		perror("lag: copytruncate");
		return -1;
	}
	return 0;
}

/* One line to the log and to the copy. */
static int put(const char *line, FILE *out, FILE *tee)
{
	if (fputs(line, out) == EOF || (tee && fputs(line, tee) == EOF)) {
		perror("lag: write");
		return -1;
	}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int found_cb(void *ctx, const ml_message_t *m, int row)
{
	(void)m;
	(void)row;
	*(int *)ctx = 1;
	return 1;
}

/* 1 when a message with this message-id is searchable now. */
static int visible(ml_store_t *s, ml_search_t *se, const char *msgid)
{
	ml_query_t q;
	memset(&q, 0, sizeof q);
	char err[256];
	if (ml_query_set(&q, "msgid", msgid, err, sizeof err))
		return 0;
	int found = 0;
	ml_search_info_t info;
	ml_search_run(se, &q, found_cb, &found, &info, err, sizeof err);
	ml_query_free(&q);
	(void)s;
	return found;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, 0, 'd' }, { "log", required_argument, 0, 'l' },
		{ "traffic", required_argument, 0, 't' }, { "seconds", required_argument, 0, 's' },
		{ "rate", required_argument, 0, 'r' }, { "probe-ms", required_argument, 0, 'p' },
		{ "tee", required_argument, 0, 'T' }, { 0, 0, 0, 0 },
	};
	const char *db = NULL, *logp = NULL, *traffic = NULL, *teep = NULL;
	double seconds = 60, rate = 2000, probe_ms = 200;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'l': logp = optarg; break;
		case 't': traffic = optarg; break;
		case 's': seconds = atof(optarg); break;
		case 'r': rate = atof(optarg); break;
		case 'p': probe_ms = atof(optarg); break;
		case 'T': teep = optarg; break;
		default: return 2;
		}
	}
	if (!db || !logp || !traffic || rate <= 0 || probe_ms <= 0) {
		fprintf(stderr, "usage: lag --db DB --log FILE --traffic LOG [--seconds S] [--rate N] [--probe-ms MS]"
		        " [--tee COPY]\n");
		return 2;
	}
	FILE *in = fopen(traffic, "r"), *out = fopen(logp, "a");
	if (!in || !out) {
		perror("lag: open");
		return 1;
	}
	setvbuf(out, NULL, _IONBF, 0);
	FILE *tee = NULL;
	if (teep && !(tee = fopen(teep, "a"))) {
		perror("lag: --tee");
		return 1;
	}
	if (tee)
		setvbuf(tee, NULL, _IOLBF, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	/* the follower creates the database: wait for it */
	ml_store_t *s = NULL;
	char err[512];
	for (int i = 0; i < 200 && ml_store_open(&s, db, ML_STORE_RDONLY, err, sizeof err); i++)
		usleep(50000);
	if (!s) {
		fprintf(stderr, "lag: %s\n", err);
		return 1;
	}
	ml_search_t *se;
	if (ml_search_new(&se, s))
		return 1;

	size_t nprobe = (size_t)(seconds * 1000 / probe_ms) + 1, np = 0;
	double *lag = calloc(nprobe, sizeof *lag);
	char line[70000], msgid[64], probe[256];
	double t0 = now_s(), next_probe = t0 + probe_ms / 1000;
	uint64_t written = 0;
	int pending = 0;        /* a probe written, not seen yet */
	double pending_t = 0;
	while (now_s() - t0 < seconds || pending) {
		if (got_hup) {
			got_hup = 0;
			FILE *f = fopen(logp, "a");
			if (!f) {
				perror("lag: reopen");
				return 1;
			}
			fclose(out);
			out = f;
			setvbuf(out, NULL, _IONBF, 0);
		}
		if (got_usr1) {
			got_usr1 = 0;
			if (copytruncate(out, logp))
				return 1;
		}
		double t = now_s();
		/* traffic due by now */
		uint64_t due = (uint64_t)((t - t0) * rate);
		while (written < due && now_s() - t0 < seconds) {
			if (!fgets(line, sizeof line, in)) {
				rewind(in);
				continue;
			}
			if (put(line, out, tee))
				return 1;
			written++;
		}
		if (!pending && t >= next_probe && t - t0 < seconds) {
			time_t wall = time(NULL);
			struct tm tm;
			localtime_r(&wall, &tm);
			char ts[32];
			strftime(ts, sizeof ts, "%b %e %H:%M:%S", &tm);
			snprintf(msgid, sizeof msgid, "probe%zu.%ld@lag.example", np, (long)wall);
			snprintf(probe, sizeof probe,
			         "%s lagprobe postfix/cleanup[4242]: %05zX%05X: message-id=<%s>\n", ts, np,
			         (unsigned)(wall & 0xfffff), msgid);
			pending_t = now_s();
			if (put(probe, out, tee))
				return 1;
			pending = 1;
			next_probe += probe_ms / 1000;
		}
		if (pending && visible(s, se, msgid)) {
			if (np < nprobe)
				lag[np++] = (now_s() - pending_t) * 1000;
			pending = 0;
		}
		if (pending && now_s() - pending_t > 30) {
			fprintf(stderr, "lag: probe %s not searchable after 30 s\n", msgid);
			return 1;
		}
		usleep(500);
	}
	if (!np) {
		fprintf(stderr, "lag: no probe\n");
		return 1;
	}
	double elapsed = now_s() - t0;
	/* a follower falling behind shows as a lag growing over the run: the
	 * probes of each third apart, in the order they were written */
	char thirds[160] = "";
	if (np >= 30) {
		size_t len = 0;
		for (int k = 0; k < 3; k++) {
			size_t a = np * (size_t)k / 3, b = np * (size_t)(k + 1) / 3;
			qsort(lag + a, b - a, sizeof *lag, cmp_d);
			len += (size_t)snprintf(thirds + len, sizeof thirds - len, "%s%.1f / %.1f", k ? ", " : "",
			                        lag[a + (b - a) / 2], lag[a + (size_t)((double)(b - a) * 0.99)]);
		}
	}
	qsort(lag, np, sizeof *lag, cmp_d);
	printf("probes %zu, traffic %.0f lines/s (%llu lines) over %.0f s: lag ms median %.1f, p90 %.1f, "
	       "p99 %.1f, max %.1f\n", np, rate, (unsigned long long)written, seconds, lag[np / 2],
	       lag[(size_t)(np * 0.9)], lag[(size_t)(np * 0.99)], lag[np - 1]);
	printf("written at %.0f lines/s; lag ms by third of the run (median / p99): %s\n",
	       (double)written / elapsed, *thirds ? thirds : "too few probes");
	ml_search_free(se);
	ml_store_close(s);
	free(lag);
	fclose(in);
	fclose(out);
	if (tee && fclose(tee)) {
		perror("lag: --tee");
		return 1;
	}
	return 0;
}
