#include "cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/util.h"

const char ml_cluster_usage[] =
	"      --nats URL[,URL]      the NATS servers (nats://host:4222)\n"
	"      --stream NAME         the JetStream stream of log lines (default " ML_CLUSTER_STREAM ")\n"
	"      when the stream does not exist yet, it is created with:\n"
	"      --replicas N          copies on N servers of the NATS cluster (1 to 5, default 1)\n"
	"      --retention-age T     lines older than T are dropped (30d, 12h, 90s; default: kept)\n"
	"      --retention-bytes B   the oldest lines are dropped beyond B bytes (500G, 10M; default: kept)\n"
	"      --dup-window T        a line published again within T is dropped (default 2m)\n";

void ml_cluster_opts_init(ml_cluster_opts_t *o)
{
	memset(o, 0, sizeof *o);
	o->stream = ML_CLUSTER_STREAM;
	o->replicas = 1;
	o->dup_window_s = 120;
}

/* "30d", "12h", "5m", "90s", "90": seconds; -1 when not that. */
static int64_t parse_duration(const char *v)
{
	char *end;
	long long n = strtoll(v, &end, 10);
	if (end == v || n < 0)
		return -1;
	int64_t mul = 1;
	switch (*end) {
	case 0: case 's': break;
	case 'm': mul = 60; break;
	case 'h': mul = 3600; break;
	case 'd': mul = 86400; break;
	case 'w': mul = 7 * 86400; break;
	default: return -1;
	}
	if (*end && end[1])
		return -1;
	if (n > INT64_MAX / mul / 1000000000)
		return -1;
	return n * mul;
}

/* "500G", "10M", "4096": bytes; -1 when not that. */
static int64_t parse_size(const char *v)
{
	char *end;
	long long n = strtoll(v, &end, 10);
	if (end == v || n < 0)
		return -1;
	int shift = 0;
	switch (*end) {
	case 0: break;
	case 'K': case 'k': shift = 10; break;
	case 'M': shift = 20; break;
	case 'G': shift = 30; break;
	case 'T': shift = 40; break;
	default: return -1;
	}
	if (*end && end[1] && strcmp(end + 1, "B") && strcmp(end + 1, "iB"))
		return -1;
	if (n > INT64_MAX >> shift)
		return -1;
	return (int64_t)n << shift;
}

int ml_cluster_opt(ml_cluster_opts_t *o, const char *cmd, int argc, char **argv, int *i)
{
	static const char *const names[] = { "--nats", "--stream", "--replicas", "--retention-age",
	                                     "--retention-bytes", "--dup-window" };
	const char *a = argv[*i];
	size_t k;
	for (k = 0; k < ML_ARRAY_LEN(names); k++) {
		size_t n = strlen(names[k]);
		if (!strncmp(a, names[k], n) && (a[n] == 0 || a[n] == '='))
			break;
	}
	if (k == ML_ARRAY_LEN(names))
		return 0;
	const char *v = strchr(a, '=');
	if (v) {
		v++;
	} else if (*i + 1 < argc) {
		v = argv[++*i];
	} else {
		fprintf(stderr, "mtalog %s: %s needs a value\n", cmd, names[k]);
		return -1;
	}
	int64_t x = 0;
	switch (k) {
	case 0: o->url = v; return 1;
	case 1: o->stream = v; return 1;
	case 2:
		x = atoi(v);
		if (x < 1 || x > 5) {
			fprintf(stderr, "mtalog %s: --replicas: '%s' is not a number from 1 to 5\n", cmd, v);
			return -1;
		}
		o->replicas = (int)x;
		return 1;
	case 3: case 5:
		if ((x = parse_duration(v)) < 0) {
			fprintf(stderr, "mtalog %s: %s: '%s' is not a duration (30d, 12h, 5m, 90s)\n", cmd, names[k], v);
			return -1;
		}
		*(k == 3 ? &o->max_age_s : &o->dup_window_s) = x;
		return 1;
	default:
		if ((x = parse_size(v)) < 0) {
			fprintf(stderr, "mtalog %s: --retention-bytes: '%s' is not a size (500G, 10M, 4096)\n", cmd, v);
			return -1;
		}
		o->max_bytes = x;
		return 1;
	}
}

int ml_cluster_asked(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--nats") || !strncmp(argv[i], "--nats=", 7))
			return 1;
	return 0;
}

void ml_cluster_host_token(const char *host, char *out, size_t len)
{
	size_t j = 0;
	for (const char *p = host; *p && j + 1 < len; p++)
		out[j++] = (*p == '.' || *p == '*' || *p == '>' || (unsigned char)*p <= ' ') ? '_' : *p;
	if (!j && len > 1)
		out[j++] = '_';
	if (len)
		out[j] = 0;
}

#ifdef ML_NATS

int ml_cluster_available(void)
{
	return 1;
}

static int ensure_stream(const ml_cluster_opts_t *o, jsCtx *js, char *err, size_t errlen)
{
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	natsStatus s = js_GetStreamInfo(&si, js, o->stream, NULL, &jerr);
	if (s == NATS_OK) {
		jsStreamInfo_Destroy(si);
		return ML_OK;
	}
	if (s != NATS_NOT_FOUND) {
		snprintf(err, errlen, "stream %s: %s", o->stream, natsStatus_GetText(s));
		return ML_EIO;
	}
	jsStreamConfig cfg;
	jsStreamConfig_Init(&cfg);
	const char *subjects[] = { ML_CLUSTER_PART_PFX "*.*" };
	cfg.Name = o->stream;
	cfg.Subjects = subjects;
	cfg.SubjectsLen = 1;
	cfg.Storage = js_FileStorage;
	cfg.Replicas = o->replicas;
	cfg.MaxAge = o->max_age_s * 1000000000LL;
	cfg.MaxBytes = o->max_bytes ? o->max_bytes : -1;
	cfg.Duplicates = o->dup_window_s * 1000000000LL;
	s = js_AddStream(&si, js, &cfg, NULL, &jerr);
	if (s == NATS_OK || jerr == JSStreamNameExistErr) {   /* (or another node just made it) */
		jsStreamInfo_Destroy(si);
		return ML_OK;
	}
	snprintf(err, errlen, "cannot create the stream %s: %s (%d)", o->stream, natsStatus_GetText(s), (int)jerr);
	return ML_EIO;
}

int ml_cluster_connect(const ml_cluster_opts_t *o, const char *name, jsOptions *jo, natsConnection **nc,
                       jsCtx **js, char *err, size_t errlen)
{
	natsOptions *no = NULL;
	*nc = NULL;
	*js = NULL;
	/* the servers, one URL each */
	char urls[2048];
	const char *servers[32];
	int nservers = 0;
	snprintf(urls, sizeof urls, "%s", o->url);
	for (char *save = NULL, *u = strtok_r(urls, ", ", &save); u && nservers < 32; u = strtok_r(NULL, ", ", &save))
		servers[nservers++] = u;
	if (!nservers) {
		snprintf(err, errlen, "--nats: no URL");
		return ML_EINVAL;
	}
	natsStatus s = natsOptions_Create(&no);
	if (s == NATS_OK) s = natsOptions_SetServers(no, servers, nservers);
	if (s == NATS_OK) s = natsOptions_SetName(no, name);
	if (s == NATS_OK) s = natsOptions_SetMaxReconnect(no, -1);
	if (s == NATS_OK) s = natsOptions_SetReconnectWait(no, 250);
	if (s == NATS_OK) s = natsOptions_SetReconnectBufSize(no, 64 << 20);
	/* a first connection for up to 10 s (servers starting); then reconnects for ever */
	for (int tries = 0; s == NATS_OK || s == NATS_NO_SERVER; tries++) {
		s = natsConnection_Connect(nc, no);
		if (s != NATS_NO_SERVER || tries >= 20)
			break;
		nats_Sleep(500);
	}
	natsOptions_Destroy(no);
	if (s != NATS_OK) {
		snprintf(err, errlen, "%s: cannot connect: %s", o->url, natsStatus_GetText(s));
		natsConnection_Destroy(*nc);
		*nc = NULL;
		return ML_EIO;
	}
	jsOptions def;
	if (!jo) {
		jsOptions_Init(&def);
		jo = &def;
	}
	if (!jo->Wait)
		jo->Wait = 10000;
	s = natsConnection_JetStream(js, *nc, jo);
	if (s != NATS_OK) {
		snprintf(err, errlen, "%s: JetStream: %s", o->url, natsStatus_GetText(s));
		ml_cluster_close(*nc, *js);
		*nc = NULL;
		*js = NULL;
		return ML_EIO;
	}
	/* the cluster may be electing its leaders: try for a while */
	int rc = ML_EIO;
	for (int tries = 0; tries < 60; tries++) {
		if ((rc = ensure_stream(o, *js, err, errlen)) == ML_OK)
			break;
		nats_Sleep(500);
	}
	if (rc) {
		ml_cluster_close(*nc, *js);
		*nc = NULL;
		*js = NULL;
	}
	return rc;
}

void ml_cluster_close(natsConnection *nc, jsCtx *js)
{
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
}

#else

int ml_cluster_available(void)
{
	return 0;
}

#endif
