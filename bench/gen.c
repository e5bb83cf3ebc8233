/*
 * gen.c — a deterministic generator of realistic Postfix logs, with the
 * ground truth of every row beside it.
 *
 *   gen --messages N [--seed S] [--out PATH|-] [--hosts K] [--start TIME]
 *       [--days D] [--format bsd|rfc3339] [--truth PATH]
 *       [--local-domains a.example,b.example,...]
 *
 * What it writes: the syslog stream of K Postfix hosts (mx1, mx2, ...)
 * interleaved in time order, as one file.  Each message goes through the
 * daemons a real one goes through (postscreen, smtpd or submission/smtpd,
 * cleanup, qmgr, smtp/lmtp/virtual/local, bounce, postsuper), with their
 * delays; deferred messages are retried with Postfix's backoff and expire
 * after a maximal_queue_lifetime scaled to the span of the run.  Around them:
 * anvil and scache statistics, postscreen and dnsblog lines for botnet
 * traffic, SASL guessing on the submission port, monitoring probes, TLS
 * lines, the odd warning.  See bench/README.md for the distributions.
 *
 * Determinism: one seed makes one output, byte for byte.  Every random
 * choice comes from xoshiro256** generators seeded by splitmix64, and the
 * few transcendental functions are computed here (det_ln, det_exp) with
 * plain IEEE double arithmetic, so no libm result can differ.
 *
 * How it works: arrival times of the N messages are drawn first (a Poisson
 * process conditioned on N, shaped by hour of day and day of week).  Each
 * message is then planned at its arrival: all the lines of its first
 * delivery pass are formatted (body only: the syslog header is written at
 * output time) into one block, and one heap entry per line, keyed by
 * (time, sequence), is pushed.  A message that needs a later pass (deferred,
 * retried) leaves a WAKE entry instead, which plans that pass when the
 * output reaches its time.  Before planning anything at time t, every line
 * up to t is popped and written; all planning happens at or after the
 * output frontier, so the output is in time order.  Lines after the end of
 * the span (the cutoff) are never written, and the truth is what the
 * written lines say at the cutoff: a message still in the queue is delayed
 * or queued, a held one quarantined.
 *
 * Memory: the heap holds the lines of messages in flight (seconds, or hours
 * for retried ones) and one WAKE per deferred message; nothing grows with
 * the length of the output.
 */
#include <errno.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/util.h"

/* ------------------------------------------------------------------ */
/* Small things                                                        */

#define US_PER_S 1000000LL
#define MS(x) ((int64_t)(x) * 1000LL)
#define SEC(x) ((int64_t)(x) * US_PER_S)

static void die(const char *what)
{
	fprintf(stderr, "gen: %s\n", what);
	exit(1);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		die("out of memory");
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die("out of memory");
	return p;
}

/* Appending to an ml_buf_t; running out of memory ends the program. */
static inline void b_mem(ml_buf_t *b, const void *p, size_t n)
{
	if (b->cap - b->len < n && ml_buf_reserve(b, n) != 0)
		die("out of memory");
	memcpy(b->data + b->len, p, n);
	b->len += n;
}
static inline void b_str(ml_buf_t *b, const char *s)
{
	b_mem(b, s, strlen(s));
}
static inline void b_ch(ml_buf_t *b, char c)
{
	if (b->cap == b->len && ml_buf_reserve(b, 1) != 0)
		die("out of memory");
	b->data[b->len++] = c;
}
static inline void b_u64(ml_buf_t *b, uint64_t v)
{
	if (ml_buf_put_u64(b, v) != 0)
		die("out of memory");
}
/* v with exactly w digits (zero padded). */
static inline void b_u0(ml_buf_t *b, uint64_t v, int w)
{
	char tmp[24];
	for (int i = w - 1; i >= 0; i--) {
		tmp[i] = (char)('0' + v % 10);
		v /= 10;
	}
	b_mem(b, tmp, (size_t)w);
}
static const char HEXU[] = "0123456789ABCDEF";
static const char HEXL[] = "0123456789abcdef";
static inline void b_hex(ml_buf_t *b, uint64_t v, int w, const char *digits)
{
	char tmp[20];
	for (int i = w - 1; i >= 0; i--) {
		tmp[i] = digits[v & 15];
		v >>= 4;
	}
	b_mem(b, tmp, (size_t)w);
}
/* NUL-terminated copy into a fixed array, truncating. */
static void scopy(char *dst, size_t cap, const char *src, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}
static void bcopy_to(char *dst, size_t cap, ml_buf_t *b)
{
	scopy(dst, cap, b->data ? b->data : "", b->len);
}

/* ------------------------------------------------------------------ */
/* Randomness: xoshiro256** seeded by splitmix64                       */

typedef struct {
	uint64_t s[4];
} rng_t;

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static void rng_seed(rng_t *r, uint64_t seed)
{
	uint64_t x = seed;
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(rng_t *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Uniform in [0, n). */
static inline uint32_t rng_below(rng_t *r, uint32_t n)
{
	return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}
/* Uniform in [lo, hi]. */
static inline int64_t rng_range(rng_t *r, int64_t lo, int64_t hi)
{
	if (hi <= lo)
		return lo;
	return lo + (int64_t)(rng_next(r) % (uint64_t)(hi - lo + 1));
}
/* Uniform in [0, 1). */
static inline double rng_unit(rng_t *r)
{
	return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}
static inline int rng_chance(rng_t *r, double p)
{
	return rng_unit(r) < p;
}

/* A 64-bit hash of a few integers, for properties that must be the same
 * every time a thing is looked at (a domain's MX, a user's name). */
static inline uint64_t hash64(uint64_t a, uint64_t b)
{
	uint64_t x = a * 0x9E3779B97F4A7C15ULL ^ (b + 0x632BE59BD9B4E019ULL);
	return splitmix64(&x);
}

/* ln and exp in plain double arithmetic: same bits on every machine. */
static double det_ln(double x)
{
	union {
		double d;
		uint64_t u;
	} v = { x };
	if (!(x > 0))
		return -745.0;
	int e = (int)((v.u >> 52) & 0x7ff) - 1023;
	v.u = (v.u & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;
	double m = v.d;
	if (m > 1.4142135623730951) {
		m *= 0.5;
		e++;
	}
	double z = (m - 1) / (m + 1), z2 = z * z;
	double s = z * (2.0 + z2 * (2.0 / 3 + z2 * (2.0 / 5 + z2 * (2.0 / 7 +
		z2 * (2.0 / 9 + z2 * (2.0 / 11 + z2 * (2.0 / 13)))))));
	return s + e * 0.6931471805599453;
}

static double det_exp(double x)
{
	if (x > 700)
		x = 700;
	if (x < -700)
		return 0;
	double y = x * 1.4426950408889634;
	int64_t k = (int64_t)y;
	if ((double)k > y)
		k--;
	double t = (y - (double)k) * 0.6931471805599453;  /* in [0, ln 2) */
	double s = 1, term = 1;
	for (int i = 1; i <= 13; i++) {
		term *= t / i;
		s += term;
	}
	union {
		double d;
		uint64_t u;
	} v;
	v.u = (uint64_t)(k + 1023) << 52;
	return s * v.d;
}

/* Exponential with the given mean. */
static inline double rng_exp(rng_t *r, double mean)
{
	return -mean * det_ln(1.0 - rng_unit(r));
}
/* Roughly standard normal (Irwin-Hall of four uniforms). */
static inline double rng_gauss(rng_t *r)
{
	/* one call a statement: C leaves the order of a sum's operands open,
	 * and a compiler (or a sanitizer's instrumentation) may pick another */
	double a = rng_unit(r), b = rng_unit(r), c = rng_unit(r), d = rng_unit(r);
	return (a + b + c + d - 2.0) * 1.7320508075688772;
}
/* prefix, then a character for each of pattern's (at most 16): 'A' a
 * capital letter, '0' a digit, drawn from the last to the first (the order
 * in which the arguments of one call were drawn before, so that a seed gives
 * the log it gave then), one draw a statement for the reason above. */
static void rng_name(rng_t *r, char *out, size_t n, const char *prefix, const char *pattern)
{
	char draw[16];
	size_t k = ML_MIN(strlen(pattern), sizeof draw);
	for (size_t i = k; i-- > 0;)
		draw[i] = pattern[i] == 'A' ? (char)('A' + rng_below(r, 26)) : (char)('0' + rng_below(r, 10));
	snprintf(out, n, "%s%.*s", prefix, (int)k, draw);
}
static inline double rng_lognorm(rng_t *r, double median, double sigma)
{
	return median * det_exp(sigma * rng_gauss(r));
}
/* Zipf-like rank in [0, n): weight of rank k (1-based) is about 1/(k+q).
 * Drawn from the continuous law, so no table is needed. */
static inline uint32_t rng_zipf(rng_t *r, uint32_t n, double q)
{
	if (n <= 1)
		return 0;
	double lo = det_ln(1.0 + q), hi = det_ln((double)n + 1.0 + q);
	double x = det_exp(lo + rng_unit(r) * (hi - lo)) - q;
	uint32_t k = (uint32_t)x;
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return k - 1;
}
/* Pick from a list of weights. */
static int rng_pick(rng_t *r, const double *w, int n)
{
	double sum = 0;
	for (int i = 0; i < n; i++)
		sum += w[i];
	double u = rng_unit(r) * sum;
	for (int i = 0; i < n; i++) {
		if (u < w[i])
			return i;
		u -= w[i];
	}
	return n - 1;
}
#define PICK(r, arr) ((arr)[rng_below((r), (uint32_t)ML_ARRAY_LEN(arr))])
#define ZPICK(r, arr, q) ((arr)[rng_zipf((r), (uint32_t)ML_ARRAY_LEN(arr), (q))])

/* ------------------------------------------------------------------ */
/* Calendar                                                            */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

typedef struct {
	int year, mon, day, hour, min, sec, wday;  /* mon 1..12, wday 0 = Sunday */
} civil_t;

static civil_t civil_from_secs(int64_t s)
{
	civil_t c;
	int64_t z = s >= 0 ? s / 86400 : (s - 86399) / 86400;
	int64_t rem = s - z * 86400;
	c.hour = (int)(rem / 3600);
	c.min = (int)(rem / 60 % 60);
	c.sec = (int)(rem % 60);
	c.wday = (int)((z + 4) % 7);
	if (c.wday < 0)
		c.wday += 7;
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	c.day = (int)(doy - (153 * mp + 2) / 5 + 1);
	c.mon = (int)(mp < 10 ? mp + 3 : mp - 9);
	c.year = (int)(y + (c.mon <= 2));
	return c;
}

static const char *const MONTHS[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
static const char *const MONTHS_LONG[] = { "January", "February", "March",
	"April", "May", "June", "July", "August", "September", "October",
	"November", "December" };
static const char *const WDAYS[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };

/* "Nov  1 00:00:01" (15 bytes), as traditional syslog writes it. */
static void b_bsdtime(ml_buf_t *b, int64_t secs)
{
	civil_t c = civil_from_secs(secs);
	b_str(b, MONTHS[c.mon - 1]);
	b_ch(b, ' ');
	if (c.day < 10)
		b_ch(b, ' ');
	b_u64(b, (uint64_t)c.day);
	b_ch(b, ' ');
	b_u0(b, (uint64_t)c.hour, 2);
	b_ch(b, ':');
	b_u0(b, (uint64_t)c.min, 2);
	b_ch(b, ':');
	b_u0(b, (uint64_t)c.sec, 2);
}

/* "2026-11-01T00:00:01" */
static void b_isotime(ml_buf_t *b, int64_t secs)
{
	civil_t c = civil_from_secs(secs);
	b_u0(b, (uint64_t)c.year, 4);
	b_ch(b, '-');
	b_u0(b, (uint64_t)c.mon, 2);
	b_ch(b, '-');
	b_u0(b, (uint64_t)c.day, 2);
	b_ch(b, 'T');
	b_u0(b, (uint64_t)c.hour, 2);
	b_ch(b, ':');
	b_u0(b, (uint64_t)c.min, 2);
	b_ch(b, ':');
	b_u0(b, (uint64_t)c.sec, 2);
}

/* "YYYY-MM-DD[THH:MM[:SS]][Z]" to seconds since the epoch (UTC). */
static int parse_start(const char *s, int64_t *out)
{
	int y, mo, d, h = 0, mi = 0, se = 0, n = 0;
	if (sscanf(s, "%d-%d-%d%n", &y, &mo, &d, &n) != 3)
		return -1;
	s += n;
	if (*s == 'T' || *s == ' ') {
		n = 0;
		if (sscanf(s + 1, "%d:%d%n", &h, &mi, &n) != 2)
			return -1;
		s += 1 + n;
		if (*s == ':') {
			n = 0;
			if (sscanf(s + 1, "%d%n", &se, &n) != 1)
				return -1;
			s += 1 + n;
		}
	}
	if (*s == 'Z')
		s++;
	if (*s || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return -1;
	*out = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Word lists                                                          */

static const char *const FIRST[] = {
	"michael", "anna", "thomas", "maria", "john", "sarah", "david", "laura",
	"peter", "julia", "james", "emma", "robert", "sophie", "daniel", "lisa",
	"martin", "claire", "paul", "nina", "stefan", "katharina", "mark", "olivia",
	"andreas", "elena", "chris", "hannah", "markus", "isabel", "jan", "lucia",
	"frank", "marie", "richard", "sandra", "william", "eva", "alexander", "ines",
	"tobias", "charlotte", "kevin", "amelie", "matthias", "lea", "jens", "sofia",
	"oliver", "camille", "lukas", "chloe", "florian", "manon", "sebastian", "carmen",
	"pierre", "pilar", "luis", "ana", "carlos", "marta", "javier", "beatriz",
	"jean", "nathalie", "nicolas", "aurelie", "antoine", "isabelle", "giovanni", "giulia",
	"marco", "francesca", "luca", "chiara", "pieter", "anouk", "sven", "ingrid",
	"lars", "astrid", "erik", "karin", "piotr", "agnieszka", "tomasz", "katarzyna",
	"dmitry", "olga", "sergey", "natalia", "ivan", "svetlana", "hiroshi", "yuki",
	"takeshi", "akiko", "kenji", "naomi", "wei", "mei", "li", "xiao",
	"raj", "priya", "amit", "ananya", "mohammed", "fatima", "ahmed", "leila",
	"george", "helen", "steven", "karen", "brian", "susan", "jason", "linda",
	"ryan", "jessica", "eric", "emily", "adam", "rachel", "ben", "kate",
	"tim", "jo", "sam", "alex", "max", "nora", "felix", "greta",
};

static const char *const LAST[] = {
	"smith", "mueller", "schmidt", "johnson", "schneider", "williams", "fischer",
	"brown", "weber", "jones", "meyer", "miller", "wagner", "davis", "becker",
	"wilson", "schulz", "taylor", "hoffmann", "anderson", "koch", "thomas", "richter",
	"jackson", "klein", "white", "wolf", "harris", "schroeder", "martin", "neumann",
	"thompson", "schwarz", "garcia", "zimmermann", "martinez", "braun", "robinson",
	"krueger", "clark", "hofmann", "rodriguez", "hartmann", "lewis", "lange", "lee",
	"walker", "schmitt", "hall", "werner", "allen", "krause", "young", "meier",
	"hernandez", "lehmann", "king", "schmid", "wright", "schulze", "lopez", "maier",
	"hill", "koehler", "scott", "herrmann", "green", "walter", "adams", "dubois",
	"baker", "durand", "gonzalez", "leroy", "nelson", "moreau", "carter", "laurent",
	"mitchell", "lefebvre", "perez", "michel", "roberts", "bernard", "turner",
	"rossi", "phillips", "russo", "campbell", "ferrari", "parker", "esposito", "evans",
	"bianchi", "edwards", "romano", "collins", "devries", "stewart", "jansen",
	"sanchez", "bakker", "morris", "visser", "rogers", "nowak", "reed", "kowalski",
	"cook", "wisniewski", "morgan", "ivanov", "bell", "petrov", "murphy", "smirnov",
	"bailey", "sato", "rivera", "suzuki", "cooper", "takahashi", "richardson", "tanaka",
	"cox", "wang", "howard", "zhang", "ward", "chen", "torres", "liu", "peterson",
	"kumar", "gray", "sharma", "ramirez", "patel", "james", "singh", "watson",
	"nielsen", "hansen", "larsen", "andersson", "johansson", "berg", "lindqvist",
};

static const char *const ROLES[] = {
	"info", "sales", "support", "office", "billing", "hr", "jobs", "accounting",
	"invoices", "marketing", "contact", "service", "team", "admin", "it",
	"press", "orders", "reception", "legal", "purchasing", "security",
	"helpdesk", "newsletter", "events", "careers", "postmaster", "abuse",
};

static const char *const NICK[] = {
	"sunny", "tiger", "skywalker", "blue", "happy", "cool", "dragon", "star",
	"music", "pixel", "rocket", "shadow", "angel", "lucky", "wolf", "ninja",
	"coffee", "dream", "storm", "river", "ocean", "panda", "kitty", "gamer",
};

/* Words of business, newsletter and notification subjects.  Each list is in
 * rough order of frequency: subjects draw from them Zipf-wise. */
static const char *const NOUN[] = {
	"meeting", "report", "update", "invoice", "order", "project", "request",
	"proposal", "review", "schedule", "budget", "contract", "call", "question",
	"offer", "agenda", "presentation", "account", "payment", "delivery",
	"document", "plan", "team", "customer", "information", "quote", "training",
	"event", "workshop", "feedback", "summary", "reminder", "application",
	"appointment", "access", "approval", "campaign", "change", "conference",
	"data", "deadline", "design", "draft", "estimate", "forecast", "issue",
	"launch", "list", "minutes", "notes", "office", "policy", "price", "product",
	"release", "renewal", "results", "sales", "service", "shipment", "status",
	"strategy", "support", "survey", "system", "task", "test", "ticket", "trip",
	"visit", "website", "analysis", "audit", "backup", "board", "brochure",
	"catalog", "certificate", "checklist", "client", "committee", "company",
	"complaint", "confirmation", "consultation", "contact", "course", "dashboard",
	"demo", "department", "deployment", "discount", "dinner", "discussion",
	"evaluation", "expenses", "fees", "file", "files", "finance", "form",
	"guidelines", "handover", "headcount", "holiday", "hotel", "incident",
	"insurance", "interview", "inventory", "investment", "kickoff", "lease",
	"license", "logo", "lunch", "maintenance", "manual", "market", "marketing",
	"milestone", "migration", "network", "newsletter", "onboarding", "opportunity",
	"outage", "partner", "partnership", "password", "performance", "permit",
	"photos", "pipeline", "portal", "position", "press", "pricing", "priority",
	"procedure", "process", "progress", "promotion", "purchase", "quality",
	"recruitment", "refund", "registration", "renovation", "rent", "repair",
	"requirements", "reservation", "resources", "roadmap", "salary", "sample",
	"security", "seminar", "server", "session", "shipping", "signature", "slides",
	"software", "specification", "sponsorship", "staff", "statement", "stock",
	"supplier", "tax", "template", "tender", "timeline", "timesheet", "tour",
	"transfer", "translation", "travel", "upgrade", "vacancy", "vacation", "vendor",
	"version", "warranty", "webinar", "week", "workflow", "agreement", "allocation",
	"announcement", "architecture", "assessment", "assignment", "attendance",
	"authorization", "award", "balance", "benchmark", "billing", "booking", "branch",
	"briefing", "bug", "calendar", "capacity", "cards", "case", "cash", "catering",
	"celebration", "charity", "claim", "cleanup", "closure", "code", "collection",
	"compliance", "configuration", "consent", "cooperation", "cost", "costs",
	"coverage", "credit", "crm", "database", "debt", "decision", "deposit", "desk",
	"development", "device", "directory", "dispatch", "dispute", "distribution",
	"donation", "due", "election", "email", "employee", "energy", "enquiry",
	"equipment", "escalation", "exhibition", "expansion", "export", "extension",
	"facility", "fair", "feature", "festival", "firewall", "fleet", "floor",
	"forum", "framework", "freight", "funding", "gala", "gift", "goals", "grant",
	"guest", "hardware", "health", "hiring", "import", "improvement", "installation",
	"integration", "internship", "invitation", "kitchen", "laptop", "lecture",
	"legal", "letter", "loan", "logistics", "machine", "materials", "membership",
	"merger", "model", "module", "mortgage", "move", "negotiation", "notice",
	"offsite", "opening", "operations", "outline", "overtime", "package", "parking",
	"party", "patch", "payroll", "pension", "phone", "pilot", "platform", "pledge",
	"portfolio", "poster", "printer", "prototype", "questionnaire", "rates",
	"receipt", "recording", "reference", "regulation", "relocation", "request",
	"research", "retreat", "revenue", "risk", "rollout", "room", "safety", "scope",
	"settlement", "setup", "shift", "showcase", "sign-off", "site", "sprint",
	"standup", "storage", "study", "submission", "subscription", "supply", "target",
	"terms", "tickets", "tool", "trade", "trial", "tuition", "uniforms", "usage",
	"utilities", "valuation", "vehicle", "venue", "volunteers", "wiki", "workshop",
	"yearbook", "zone",
};

static const char *const ADJ[] = {
	"new", "updated", "final", "monthly", "quarterly", "weekly", "annual",
	"urgent", "revised", "important", "next", "draft", "open", "pending",
	"current", "internal", "joint", "daily", "short", "quick", "first",
	"second", "last", "special", "upcoming", "official", "preliminary",
	"detailed", "general", "regional", "global", "local", "technical", "legal",
	"financial", "strategic", "digital", "annual", "extended", "reduced",
	"confidential", "corrected", "complete", "signed", "missing", "overdue",
	"outstanding", "additional", "standard", "premium", "free", "exclusive",
	"limited", "seasonal", "summer", "winter", "spring", "autumn", "holiday",
	"early", "late", "joint", "online", "onsite", "remote", "hybrid", "virtual",
	"planned", "unplanned", "scheduled", "emergency", "critical", "minor",
	"major", "small", "big", "improved", "simplified", "secure", "green",
	"sustainable", "smart", "public", "private", "shared", "personal",
};

static const char *const VERB[] = {
	"please review", "please sign", "please confirm", "action required",
	"reminder", "fyi", "for approval", "for review", "question on",
	"thoughts on", "help with", "feedback on", "update on", "change to",
	"sign-up for", "reschedule", "moving", "closing", "booking", "cancelling",
	"confirming", "approving", "preparing", "planning", "discussing",
};

static const char *const PREP[] = { "for", "about", "on", "regarding", "re", "with", "from", "to" };

static const char *const CODENAME[] = {
	"Orion", "Falcon", "Atlas", "Phoenix", "Apollo", "Helios", "Nova", "Titan",
	"Aurora", "Mercury", "Vega", "Zephyr", "Polaris", "Pegasus", "Andromeda",
	"Borealis", "Cobalt", "Cypress", "Delta", "Ember", "Everest", "Fjord",
	"Granite", "Harbor", "Horizon", "Indigo", "Jasper", "Juniper", "Kestrel",
	"Lighthouse", "Lotus", "Magnolia", "Meridian", "Nimbus", "Obsidian",
	"Onyx", "Osprey", "Pinnacle", "Quartz", "Redwood", "Sapphire", "Sequoia",
	"Sierra", "Summit", "Tundra", "Unity", "Vertex", "Willow", "Yukon", "Zenith",
};

static const char *const INDUSTRY[] = {
	"consulting", "logistics", "solutions", "systems", "group", "partners",
	"engineering", "design", "media", "software", "trading", "services",
	"holding", "labs", "studio", "bau", "technik", "immobilien", "medical",
	"legal", "finance", "energy", "foods", "textiles", "motors", "print",
	"travel", "events", "architects", "tax", "insurance", "pharma", "robotics",
	"analytics", "hosting", "networks", "furniture", "garden", "optics", "clinic",
};

static const char *const DOMWORD[] = {
	"north", "south", "east", "west", "blue", "green", "red", "silver", "golden",
	"bright", "clear", "swift", "prime", "alpha", "nova", "terra", "aqua",
	"sun", "moon", "star", "river", "lake", "hill", "stone", "oak", "pine",
	"maple", "cedar", "iron", "steel", "copper", "crystal", "delta", "summit",
	"harbor", "bridge", "tower", "castle", "forest", "meadow", "valley", "coast",
	"bay", "cloud", "rain", "snow", "wind", "fire", "ember", "spark", "pixel",
	"vector", "quantum", "fusion", "nexus", "vertex", "zenith", "apex", "core",
	"link", "net", "web", "data", "info", "smart", "wise", "true", "pure",
	"fresh", "urban", "rural", "metro", "city", "euro", "inter", "trans",
	"global", "united", "royal", "noble", "happy", "lucky", "kessler", "baumann",
	"lindner", "vogel", "hansa", "rhein", "alster", "nordic", "baltic", "alpine",
	"atlantic", "pacific", "sierra", "andes", "sahara", "tundra", "savanna",
};

static const char *const COMPANY_SUFFIX[] = { "GmbH", "Ltd", "Inc.", "AG", "SA", "BV", "LLC", "S.L.", "SARL", "Oy" };

/* Big mailbox providers: the head of the recipient-domain distribution. */
static const char *const BIGDOMAINS[] = {
	"freemail.example", "webmail.example", "mailbox.example", "inbox.test",
	"postbox.example", "netmail.test", "mymail.example", "corp-mail.example",
};

/* Brands of newsletters and notifications (their sending domains are made
 * from them). */
static const char *const BRAND[] = {
	"Northwind", "Contoso Shop", "Fabrikam", "Tailspin Travel", "Wingtip Toys",
	"Litware", "Adventure Works", "Proseware", "Lucerne Publishing", "Woodgrove Bank",
	"Blue Yonder Air", "Coho Winery", "Fourth Coffee", "Alpine Ski House",
	"Trey Research", "Humongous Insurance", "Margie's Travel", "Graphic Design Institute",
	"City Power & Light", "Wide World Importers", "Datum Corp", "Relecloud",
	"Southridge Video", "Lamna Healthcare", "VanArsdel", "Bellows College",
};

static const char *const SERVICE[] = {
	"bank", "insurance", "mobile", "electricity", "credit card", "cloud storage",
	"payroll", "phone", "internet", "pension", "brokerage", "utility",
};

static const char *const DEVICE[] = {
	"Windows", "Mac", "iPhone", "Android", "Linux", "iPad", "Chrome on Windows",
	"Firefox on Linux", "Safari on Mac",
};

static const char *const LISTS[] = {
	"dev", "users", "announce", "general", "ops", "security", "board",
	"all-staff", "sales-team", "it-news", "book-club", "running",
};

static const char *const JIRAKEY[] = { "OPS", "WEB", "CRM", "INFRA", "HR", "FIN", "APP", "SEC", "DATA", "MAIL" };

static const char *const CRON[] = {
	"/usr/local/bin/backup.sh", "test -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily )",
	"/usr/bin/certbot -q renew", "/opt/scripts/check_disk.sh", "/usr/sbin/logrotate /etc/logrotate.conf",
	"/usr/local/sbin/update-blocklists", "php /var/www/app/artisan schedule:run",
};

/* Subjects in other languages, as their writers type them; "#" is replaced
 * by a number. */
static const char *const SUBJ_DE[] = {
	"Rechnung Nr. # für Ihre Bestellung", "Einladung zur Besprechung am Donnerstag",
	"Grüße aus München", "Änderung der Öffnungszeiten", "Ihre Bestellung wurde versandt",
	"Angebot für die Erweiterung der Büroräume", "Protokoll der Sitzung vom Dienstag",
	"Urlaubsvertretung für nächste Woche", "Kündigungsbestätigung",
	"Terminbestätigung für Ihren Besuch", "Wichtige Information zu Ihrem Konto",
	"Jahresabschluss – Unterlagen", "Frohe Weihnachten und einen guten Rutsch!",
	"Zahlungserinnerung: Rechnung #", "Lieferverzögerung bei Auftrag #",
	"Schulung „Datenschutz“ am Montag", "Übergabe der Schlüssel",
	"Mängelanzeige Wohnung #", "Betriebsausflug nach Köln", "Neue Preise ab 1. Januar",
	"Bewerbung als Software-Entwickler (m/w/d)", "Rückfrage zu Ihrem Angebot",
	"Fußball am Freitag?", "Prüfung der Unterlagen", "Straßensperrung in der Hauptstraße",
	"Gehaltsabrechnung für Oktober", "Bestätigung Ihrer Anmeldung", "Ihr Paket kommt heute",
	"Kostenvoranschlag für die Reparatur", "Verlängerung des Wartungsvertrags",
	"Aktualisierte Präsentation für die Geschäftsführung", "Rückruf erbeten",
	"Störung im Rechenzentrum – Nachbericht", "Glückwunsch zum Jubiläum!",
};
static const char *const SUBJ_FR[] = {
	"Réunion de l'équipe – ordre du jour", "Votre facture n°# est disponible",
	"Élection des délégués du personnel", "Confirmation de votre réservation",
	"Invitation : déjeuner de fin d'année", "Relance : devis n°#",
	"Compte rendu de la réunion de lundi", "Congés d'été – planning",
	"Mise à jour de sécurité importante", "Votre colis est en cours de livraison",
	"Bonne année à toute l'équipe !", "Prêt pour la présentation de jeudi ?",
	"Problème d'accès à la messagerie", "Offre spéciale : -30 % sur tout le catalogue",
	"Demande de congé", "Félicitations pour ta promotion !",
	"Dernière chance : inscription au séminaire", "Rappel : échéance du paiement",
	"Nouveaux tarifs à partir du 1er janvier", "Résiliation de contrat",
	"Vérification de votre adresse e-mail", "Candidature – développeur(se) web",
	"Arrêt maladie – justificatif", "Numéro de suivi de votre commande #",
};
static const char *const SUBJ_ES[] = {
	"Reunión de presupuesto", "¡Última oportunidad! Descuento del 50%",
	"Confirmación de su pedido nº #", "Factura electrónica #",
	"Invitación: comida de Navidad", "Cambio de contraseña",
	"Información importante sobre su cuenta", "Resumen de la reunión del lunes",
	"Vacaciones de verano", "Año nuevo, precios nuevos",
	"Solicitud de presupuesto – diseño web", "¿Nos vemos el jueves?",
	"Revisión del contrato de mantenimiento", "Envío en camino: pedido #",
	"Acta de la reunión de dirección", "Baja médica – documentación",
	"Felicidades por el aniversario", "Nómina de octubre", "Recordatorio: cita del miércoles",
};
static const char *const SUBJ_RU[] = {
	"Счёт на оплату №#", "Встреча по проекту", "Ваш заказ отправлен",
	"Приглашение на конференцию", "Акт сверки за год", "Коммерческое предложение",
	"Отчёт о продажах за месяц", "Договор поставки №#", "Срочно: изменение реквизитов",
	"С Новым годом!", "Вопрос по счёту #", "Напоминание о встрече в пятницу",
	"Скидка 40% только сегодня", "Подтверждение регистрации", "Протокол совещания",
	"График отпусков", "Обновление прайс-листа",
};
static const char *const SUBJ_JA[] = {
	"会議のお知らせ", "ご注文の確認（注文番号：#）", "請求書の送付について",
	"【重要】パスワード変更のお願い", "新製品発表会のご案内", "お見積りのご依頼",
	"打ち合わせの日程調整", "年末年始休業のお知らせ", "【至急】システムメンテナンスのお知らせ",
	"出張報告書", "ご入金確認のお知らせ", "いつもお世話になっております",
	"セミナー参加のお礼", "契約更新のご案内", "資料送付のお願い",
};
static const char *const SUBJ_EMOJI[] = {
	"🎉 Black Friday: 40% off everything", "🔥 Last chance – sale ends tonight",
	"📦 Your order is on its way", "✨ New arrivals you’ll love",
	"☕ Coffee break? Our autumn menu is here", "🎁 A gift for you inside",
	"Don’t miss out – 24 hours left ⏰", "Your weekly summary 📊",
	"We’ve updated our privacy policy", "“Best of” – our readers’ favourites",
};

/* ------------------------------------------------------------------ */
/* Options and global state                                            */

typedef struct {
	uint64_t messages;
	uint64_t seed;
	const char *out_path;
	const char *truth_path;
	int nhosts;
	int64_t start_s;
	double days;
	int rfc3339;
	const char *local_domains[8];
	int nlocal;
} opts_t;

enum {
	P_SMTPD, P_SUBMISSION, P_CLEANUP, P_QMGR, P_SMTP, P_LMTP, P_VIRTUAL,
	P_LOCAL, P_BOUNCE, P_POSTSCREEN, P_DNSBLOG, P_ANVIL, P_TLSMGR,
	P_POSTSUPER, P_PICKUP, P_SCACHE, P_TLSPROXY, P__COUNT
};
static const char *const PROG[P__COUNT] = {
	"postfix/smtpd", "postfix/submission/smtpd", "postfix/cleanup",
	"postfix/qmgr", "postfix/smtp", "postfix/lmtp", "postfix/virtual",
	"postfix/local", "postfix/bounce", "postfix/postscreen", "postfix/dnsblog",
	"postfix/anvil", "postfix/tlsmgr", "postfix/postsuper", "postfix/pickup",
	"postfix/scache", "postfix/tlsproxy",
};

/* Statuses of a row, as DESIGN.md names them. */
enum { ST_NONE, ST_DELIVERED, ST_DELAYED, ST_BOUNCED, ST_EXPIRED, ST_QUEUED,
	ST_QUARANTINED, ST_BLOCKED, ST__COUNT };
static const char *const STNAME[ST__COUNT] = { "", "delivered", "delayed",
	"bounced", "expired", "queued", "quarantined", "blocked" };

/* A delivery process of one service: Postfix reuses it for max_use (100)
 * requests and lets it go after max_idle (100 s). */
typedef struct {
	uint32_t pid;
	int32_t uses;
	int64_t free_at, last;
} proc_t;

#define POOL_MAX 24
typedef struct {
	proc_t p[POOL_MAX];
	int n;
} pool_t;

typedef struct {
	int64_t t;
	uint32_t inode;
} rel_t;

/* How a host hands mail to the mailboxes. */
enum { LT_LMTP_UNIX, LT_LMTP_TCP, LT_VIRTUAL };

typedef struct {
	char name[16];     /* syslog host name: "mx1" */
	char fqdn[64];     /* myhostname: "mx1.example.com" */
	char ip[24];
	int long_ids;      /* enable_long_queue_ids = yes */
	int postscreen;    /* port 25 behind postscreen */
	int tls_log;       /* smtp(d)_tls_loglevel = 1 */
	int ltrans;        /* LT_* */
	double weight;     /* share of the traffic */
	uint32_t next_pid;
	uint32_t pid_qmgr, pid_postscreen, pid_anvil, pid_tlsmgr, pid_pickup;
	pool_t pool[P__COUNT];
	uint32_t next_inode;
	uint32_t *freei;   /* released inodes, reused last-in first-out */
	size_t nfree, capfree;
	rel_t *rel;        /* inodes to release, a min-heap on time */
	size_t nrel, caprel;
} host_t;

/* A remote domain. */
enum { DC_FREEMAIL, DC_BIZ, DC_BULK, DC_DEAD, DC_NXDOMAIN };
typedef struct {
	char *name;
	uint8_t cls;
	uint8_t greylist;  /* greylists first-time senders */
	uint8_t style;     /* shape of its 250 reply */
	uint8_t v6;        /* reachable over IPv6 */
	uint32_t users;
	uint32_t idx;
} rdom_t;

/* A local mailbox or alias. */
typedef struct {
	char addr[72];
	uint8_t dom;
	uint8_t role;      /* an alias: expands to mem[] */
	uint8_t nmem;
	uint32_t mem[4];
} luser_t;

static struct {
	opts_t o;
	rng_t rng;         /* planning */
	rng_t nrng;        /* noise */
	int64_t start_us, cutoff_us, span_us;
	int64_t lifetime_us, warn_us;
	int64_t frontier;  /* every line before this time has been written */
	host_t *hosts;
	int nhosts;
	rdom_t *rd;        /* remote domains, by popularity */
	uint32_t nrd, nbig;
	rdom_t *dead;      /* domains whose MX never answers */
	uint32_t ndead;
	rdom_t *bulk;      /* senders of newsletters and notifications */
	uint32_t nbulk;
	luser_t *lu;       /* local mailboxes, by activity */
	uint32_t nlu;
	uint32_t *roles;   /* indices of aliases in lu */
	uint32_t nroles;
	/* counters for the summary */
	uint64_t n_msgs, n_ndr, n_lines, n_bytes, n_rows[ST__COUNT];
	uint64_t n_noise_sessions;
} G;

/* ------------------------------------------------------------------ */
/* Processes and queue IDs                                             */

static uint32_t new_pid(host_t *h)
{
	h->next_pid += 1 + rng_below(&G.rng, 40);
	if (h->next_pid > 4000000)
		h->next_pid = 300 + rng_below(&G.rng, 2000);
	return h->next_pid;
}

/* The pid of a process of service prog that is free at t, busy for dur. */
static uint32_t proc_get(host_t *h, int prog, int64_t t, int64_t dur)
{
	pool_t *pl = &h->pool[prog];
	int best = -1;
	for (int i = 0; i < pl->n;) {
		proc_t *p = &pl->p[i];
		if (p->uses <= 0 || (p->free_at <= t && t - p->last > SEC(100))) {
			pl->p[i] = pl->p[--pl->n];
			continue;
		}
		if (best < 0 && p->free_at <= t)
			best = i;
		i++;
	}
	if (best < 0) {
		if (pl->n == POOL_MAX) {
			best = (int)rng_below(&G.rng, POOL_MAX);
		} else {
			best = pl->n++;
			pl->p[best].pid = new_pid(h);
			pl->p[best].uses = 100;
			pl->p[best].free_at = 0;
			pl->p[best].last = t;
		}
	}
	proc_t *p = &pl->p[best];
	p->uses--;
	if (t > p->last)
		p->last = t;
	if (t + dur > p->free_at)
		p->free_at = t + dur;
	return p->pid;
}

static void rel_push(host_t *h, int64_t t, uint32_t inode)
{
	if (h->nrel == h->caprel) {
		h->caprel = h->caprel ? h->caprel * 2 : 256;
		h->rel = xrealloc(h->rel, h->caprel * sizeof *h->rel);
	}
	size_t i = h->nrel++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (h->rel[parent].t <= t)
			break;
		h->rel[i] = h->rel[parent];
		i = parent;
	}
	h->rel[i].t = t;
	h->rel[i].inode = inode;
}

static void rel_pop(host_t *h)
{
	rel_t last = h->rel[--h->nrel];
	size_t i = 0, n = h->nrel;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && h->rel[c + 1].t < h->rel[c].t)
			c++;
		if (last.t <= h->rel[c].t)
			break;
		h->rel[i] = h->rel[c];
		i = c;
	}
	if (n)
		h->rel[i] = last;
}

/* An inode for a new queue file: one whose file was removed before the
 * output frontier (so it is free at any time from now on), else a new one. */
static uint32_t inode_alloc(host_t *h)
{
	while (h->nrel && h->rel[0].t <= G.frontier) {
		if (h->nfree == h->capfree) {
			h->capfree = h->capfree ? h->capfree * 2 : 256;
			h->freei = xrealloc(h->freei, h->capfree * sizeof *h->freei);
		}
		h->freei[h->nfree++] = h->rel[0].inode;
		rel_pop(h);
	}
	if (h->nfree && rng_chance(&G.rng, 0.8))
		return h->freei[--h->nfree];
	h->next_inode += 1 + rng_below(&G.rng, 3);
	return h->next_inode;
}

static const char SAFE52[] = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz";

static int b52(char *out, uint64_t v, unsigned base, int pad)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = SAFE52[v % base];
		v /= base;
	} while (v);
	while (n < pad)
		tmp[n++] = '0';
	for (int i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

/* A queue ID for a file created at t on host h, as Postfix derives it from
 * the time and the file's inode: short "%05X%X" of microseconds and inode,
 * or long base-52 seconds, base-52 microseconds, 'z', base-51 inode. */
static void qid_make(host_t *h, int64_t t, uint32_t inode, char *out)
{
	uint64_t sec = (uint64_t)(t / US_PER_S), usec = (uint64_t)(t % US_PER_S);
	int n = 0;
	if (h->long_ids) {
		n += b52(out + n, sec, 52, 6);
		n += b52(out + n, usec, 52, 4);
		out[n++] = 'z';
		n += b52(out + n, inode, 51, 0);
	} else {
		for (int i = 4; i >= 0; i--)
			out[n + i] = HEXU[(usec >> (4 * (4 - i))) & 15];
		n += 5;
		char tmp[12];
		int k = 0;
		uint32_t v = inode;
		do {
			tmp[k++] = HEXU[v & 15];
			v >>= 4;
		} while (v);
		while (k)
			out[n++] = tmp[--k];
	}
	out[n] = 0;
}

/* ------------------------------------------------------------------ */
/* Addresses, domains, clients                                         */

static void b_ipv4(ml_buf_t *b, int net, uint32_t host)
{
	static const char *const NETS[] = { "192.0.2.", "198.51.100.", "203.0.113." };
	b_str(b, NETS[net]);
	b_u64(b, 1 + host % 254);
}

static void b_ipv6(ml_buf_t *b, uint64_t h)
{
	b_str(b, "2001:db8:");
	static const char *const HX = HEXL;
	uint32_t g1 = 1 + (uint32_t)(h & 0xfffe), g2 = 1 + (uint32_t)((h >> 16) & 0xfe);
	uint32_t g3 = 1 + (uint32_t)((h >> 24) & 0xffe);
	char tmp[8];
	int k;
#define HXG(v) do { uint32_t _v = (v); k = 0; do { tmp[k++] = HX[_v & 15]; _v >>= 4; } while (_v); while (k) b_ch(b, tmp[--k]); } while (0)
	HXG(g1);
	b_ch(b, ':');
	HXG(g2);
	b_str(b, "::");
	HXG(g3);
#undef HXG
}

/* A string from a hash-driven choice of words; h is consumed. */
static const char *hpick(uint64_t *h, const char *const *arr, size_t n)
{
	const char *s = arr[*h % n];
	*h = *h / n ^ (*h << 37);
	*h = splitmix64(h);
	return s;
}
#define HPICK(h, arr) hpick((h), (arr), ML_ARRAY_LEN(arr))

/* Local part of user u of a domain of class cls (deterministic). */
static void b_localpart(ml_buf_t *b, uint64_t h, int cls)
{
	const char *f = HPICK(&h, FIRST), *l = HPICK(&h, LAST);
	unsigned style = (unsigned)(h % 100);
	h = splitmix64(&h);
	if (cls == DC_FREEMAIL) {
		if (style < 28) {
			b_str(b, f); b_ch(b, '.'); b_str(b, l);
		} else if (style < 42) {
			b_str(b, f); b_str(b, l);
		} else if (style < 56) {
			b_str(b, f); b_ch(b, '.'); b_str(b, l); b_u64(b, h % 99 + 1);
		} else if (style < 61) {
			b_str(b, f); b_ch(b, '_'); b_str(b, l);
		} else if (style < 74) {
			b_str(b, HPICK(&h, NICK)); b_u64(b, h % 9000 + 10);
		} else if (style < 80) {
			b_ch(b, f[0]); b_ch(b, '.'); b_str(b, l);
		} else if (style < 91) {
			b_str(b, f); b_u64(b, 1955 + h % 52);
		} else {
			b_str(b, l); b_ch(b, '.'); b_str(b, f);
		}
		return;
	}
	if (style < 55) {
		b_str(b, f); b_ch(b, '.'); b_str(b, l);
	} else if (style < 70) {
		b_ch(b, f[0]); b_ch(b, '.'); b_str(b, l);
	} else if (style < 80) {
		b_str(b, f);
	} else if (style < 88) {
		b_ch(b, f[0]); b_str(b, l);
	} else if (style < 92) {
		b_str(b, f); b_ch(b, '-'); b_str(b, l);
	} else {
		b_str(b, HPICK(&h, ROLES));
	}
}

typedef struct {
	char **slot;
	size_t cap, n;
} strset_t;

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

/* 1 if s was added, 0 if it was there. */
static int strset_add(strset_t *set, const char *s)
{
	if (set->n * 2 >= set->cap) {
		size_t ncap = set->cap ? set->cap * 2 : 1024;
		char **ns = calloc(ncap, sizeof *ns);
		if (!ns)
			die("out of memory");
		for (size_t i = 0; i < set->cap; i++) {
			if (!set->slot[i])
				continue;
			size_t j = str_hash(set->slot[i]) & (ncap - 1);
			while (ns[j])
				j = (j + 1) & (ncap - 1);
			ns[j] = set->slot[i];
		}
		free(set->slot);
		set->slot = ns;
		set->cap = ncap;
	}
	size_t j = str_hash(s) & (set->cap - 1);
	while (set->slot[j]) {
		if (strcmp(set->slot[j], s) == 0)
			return 0;
		j = (j + 1) & (set->cap - 1);
	}
	set->slot[j] = (char *)s;
	set->n++;
	return 1;
}

static void strset_free(strset_t *set)
{
	free(set->slot);
	set->slot = NULL;
	set->cap = set->n = 0;
}

/* A made-up company domain name from hash h. */
static void b_company_domain(ml_buf_t *b, uint64_t h)
{
	unsigned p = (unsigned)(h % 10);
	h = splitmix64(&h);
	switch (p) {
	case 0: case 1: case 2:
		b_str(b, HPICK(&h, DOMWORD)); b_str(b, HPICK(&h, DOMWORD));
		break;
	case 3: case 4:
		b_str(b, HPICK(&h, LAST)); b_ch(b, '-'); b_str(b, HPICK(&h, INDUSTRY));
		break;
	case 5: case 6:
		b_str(b, HPICK(&h, DOMWORD)); b_str(b, HPICK(&h, INDUSTRY));
		break;
	case 7: {
		const char *c = HPICK(&h, CODENAME);
		b_ch(b, (char)(c[0] | 0x20)); b_str(b, c + 1);
		b_ch(b, '-'); b_str(b, HPICK(&h, INDUSTRY));
		break;
	}
	case 8:
		b_str(b, HPICK(&h, LAST)); b_ch(b, '-'); b_str(b, HPICK(&h, LAST));
		break;
	default:
		b_str(b, HPICK(&h, DOMWORD)); b_ch(b, '-'); b_str(b, HPICK(&h, DOMWORD));
		break;
	}
}

static char *dup_buf(ml_buf_t *b)
{
	char *s = xmalloc(b->len + 1);
	memcpy(s, b->data, b->len);
	s[b->len] = 0;
	return s;
}

/* Adds the NUL-terminated name in b to seen; returns a copy, or NULL when the
 * name was already taken. */
static char *unique_name(strset_t *seen, ml_buf_t *b)
{
	b_ch(b, 0);
	char *s = dup_buf(b);
	if (!strset_add(seen, s)) {
		free(s);
		return NULL;
	}
	return s;
}

static void slug(ml_buf_t *b, const char *s)
{
	for (; *s; s++) {
		char c = *s;
		if (c >= 'A' && c <= 'Z')
			b_ch(b, (char)(c | 0x20));
		else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			b_ch(b, c);
		else if (c == ' ' && b->len && b->data[b->len - 1] != '-')
			b_ch(b, '-');
	}
}

static void world_build(void)
{
	ml_buf_t b = ML_BUF_INIT;
	strset_t seen = { 0 };
	char **names = NULL;  /* the users' names in seen, freed at the end */
	size_t nnames = 0, names_cap = 0;
	uint64_t N = G.o.messages;

	for (int i = 0; i < G.o.nlocal; i++)
		strset_add(&seen, G.o.local_domains[i]);

	/* Remote domains: a few huge mailbox providers, then thousands of
	 * companies; popularity follows the index (Zipf). */
	G.nbig = ML_ARRAY_LEN(BIGDOMAINS);
	G.nrd = (uint32_t)ML_MAX(3000, ML_MIN(60000, N / 20));
	G.rd = calloc(G.nrd, sizeof *G.rd);
	if (!G.rd)
		die("out of memory");
	for (uint32_t i = 0; i < G.nrd; i++) {
		rdom_t *d = &G.rd[i];
		uint64_t h = hash64(G.o.seed ^ 0xD0D0, i);
		d->idx = i;
		d->style = (uint8_t)(h % 5);
		if (i < G.nbig) {
			d->name = (char *)BIGDOMAINS[i];
			strset_add(&seen, d->name);
			d->cls = i < 6 ? DC_FREEMAIL : DC_BIZ;
			d->users = i < 6 ? 5000000u >> i : 60000;
			d->style = (uint8_t)(i % 3);
			d->v6 = i < 3;
			continue;
		}
		d->cls = DC_BIZ;
		d->users = 3 + (uint32_t)((h >> 8) % (i < 200 ? 3000 : 150));
		d->v6 = (h >> 20) % 10 == 0;
		d->greylist = (h >> 24) % 12 == 0;
		for (int tries = 0; !d->name; tries++) {
			b.len = 0;
			b_company_domain(&b, h);
			if (tries)
				b_u64(&b, (uint64_t)tries + 1);
			b_str(&b, (h >> 40) % 10 < 7 ? ".example" : ".test");
			d->name = unique_name(&seen, &b);
		}
	}

	/* Domains whose mail exchangers never answer: all mail to them is
	 * deferred until it expires. */
	G.ndead = 40;
	G.dead = calloc(G.ndead, sizeof *G.dead);
	for (uint32_t i = 0; i < G.ndead; i++) {
		rdom_t *d = &G.dead[i];
		uint64_t h = hash64(G.o.seed ^ 0xDEAD, i);
		d->cls = DC_DEAD;
		d->users = 20;
		d->idx = 100000 + i;
		d->style = (uint8_t)(h % 3);  /* how it fails */
		for (int tries = 0; !d->name; tries++) {
			b.len = 0;
			b_company_domain(&b, h + (uint64_t)tries * 7919);
			b_str(&b, (h >> 40) % 2 ? ".example" : ".test");
			d->name = unique_name(&seen, &b);
		}
	}

	/* Senders of newsletters and notifications. */
	G.nbulk = ML_ARRAY_LEN(BRAND) + 300;
	G.bulk = calloc(G.nbulk, sizeof *G.bulk);
	for (uint32_t i = 0; i < G.nbulk; i++) {
		rdom_t *d = &G.bulk[i];
		uint64_t h = hash64(G.o.seed ^ 0xB01C, i);
		static const char *const SUB[] = { "news.", "mail.", "em.", "notifications.", "info.", "" };
		d->cls = DC_BULK;
		d->users = 4;
		d->idx = 200000 + i;
		d->style = (uint8_t)(h % 4);
		for (int tries = 0; !d->name; tries++) {
			b.len = 0;
			b_str(&b, SUB[(h >> 3) % ML_ARRAY_LEN(SUB)]);
			if (i < ML_ARRAY_LEN(BRAND))
				slug(&b, BRAND[i]);
			else
				b_company_domain(&b, h + (uint64_t)tries * 104729);
			if (tries && i < ML_ARRAY_LEN(BRAND))
				b_u64(&b, (uint64_t)tries + 1);
			b_str(&b, (h >> 40) % 10 < 8 ? ".example" : ".test");
			d->name = unique_name(&seen, &b);
		}
	}

	/* Local mailboxes: first.last and friends, spread over the local
	 * domains (the first one has most); then role aliases per domain. */
	uint32_t nusers = 300;
	while ((uint64_t)nusers * nusers < N * 36 && nusers < 20000)
		nusers += 50;
	uint32_t nroles_per = 10;
	G.nlu = 0;
	G.lu = calloc((size_t)nusers + (size_t)G.o.nlocal * nroles_per, sizeof *G.lu);
	G.roles = calloc((size_t)G.o.nlocal * nroles_per, sizeof *G.roles);
	double dw[8];
	for (int i = 0; i < G.o.nlocal; i++)
		dw[i] = i == 0 ? 0.6 : i == 1 ? 0.25 : 0.15 / (G.o.nlocal - 2);
	if (G.o.nlocal == 1)
		dw[0] = 1;
	if (G.o.nlocal == 2) {
		dw[0] = 0.7;
		dw[1] = 0.3;
	}
	rng_t ur;
	rng_seed(&ur, G.o.seed ^ 0x10CA1);
	for (uint32_t i = 0, guard = 0; i < nusers && guard < nusers * 20; guard++) {
		int dom = rng_pick(&ur, dw, G.o.nlocal);
		b.len = 0;
		uint64_t h = rng_next(&ur);
		const char *f = HPICK(&h, FIRST), *l = HPICK(&h, LAST);
		unsigned st = (unsigned)(h % 100);
		if (st < 62) {
			b_str(&b, f); b_ch(&b, '.'); b_str(&b, l);
		} else if (st < 77) {
			b_ch(&b, f[0]); b_ch(&b, '.'); b_str(&b, l);
		} else if (st < 87) {
			b_ch(&b, f[0]); b_str(&b, l);
		} else if (st < 92) {
			b_str(&b, f);
		} else {
			b_str(&b, f); b_ch(&b, '.'); b_str(&b, l); b_u64(&b, 2 + (h >> 20) % 3);
		}
		b_ch(&b, '@');
		b_str(&b, G.o.local_domains[dom]);
		b_ch(&b, 0);
		if (b.len > sizeof G.lu[0].addr)
			continue;
		char *name = dup_buf(&b);
		if (!strset_add(&seen, name)) {
			free(name);  /* taken already */
			continue;
		}
		if (nnames == names_cap) {
			names_cap = names_cap ? 2 * names_cap : 1024;
			names = xrealloc(names, names_cap * sizeof *names);
		}
		names[nnames++] = name;
		luser_t *u = &G.lu[G.nlu++];
		memcpy(u->addr, b.data, b.len);
		u->dom = (uint8_t)dom;
		i++;
	}
	for (int dom = 0; dom < G.o.nlocal; dom++) {
		for (uint32_t r = 0; r < nroles_per; r++) {
			luser_t *u = &G.lu[G.nlu];
			b.len = 0;
			b_str(&b, ROLES[r]);
			b_ch(&b, '@');
			b_str(&b, G.o.local_domains[dom]);
			b_ch(&b, 0);
			memcpy(u->addr, b.data, ML_MIN(b.len, sizeof u->addr - 1));
			u->dom = (uint8_t)dom;
			u->role = 1;
			u->nmem = (uint8_t)(1 + rng_below(&ur, 4));
			for (int k = 0; k < u->nmem; k++) {
				/* members: mailboxes of the same domain */
				uint32_t m;
				for (int g = 0;; g++) {
					m = rng_zipf(&ur, G.nlu, 5);
					if (G.lu[m].dom == dom || g > 50)
						break;
				}
				if (G.lu[m].role)
					m = 0;
				u->mem[k] = m;
				for (int j = 0; j < k; j++)
					if (u->mem[j] == m)
						u->nmem = (uint8_t)k;  /* duplicate: stop here */
			}
			G.roles[G.nroles++] = G.nlu++;
		}
	}
	/* the users' addresses were copied into G.lu: their names in `seen` go
	 * with it (the domains' are theirs) */
	ml_buf_free(&b);
	strset_free(&seen);
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
}

/* A remote address at domain d, user drawn Zipf-wise. */
static void b_remote_addr(ml_buf_t *b, rng_t *r, const rdom_t *d)
{
	uint32_t u = rng_zipf(r, d->users, 2);
	b_localpart(b, hash64(d->idx * 2654435761ULL + 17, u), d->cls);
	b_ch(b, '@');
	b_str(b, d->name);
}

static const rdom_t *pick_rdom(rng_t *r)
{
	/* the head is heavier than 1/k: the big providers take ~45% */
	if (rng_chance(r, 0.45))
		return &G.rd[rng_zipf(r, G.nbig, 0.6)];
	return &G.rd[rng_zipf(r, G.nrd, 8)];
}

static uint32_t pick_luser(rng_t *r)
{
	for (;;) {
		uint32_t i = rng_zipf(r, G.nlu, 4);
		if (!G.lu[i].role)
			return i;
	}
}

/* The relay (MX) of remote domain d: name and address. k picks one of its
 * exchangers. */
static void b_mx_name(ml_buf_t *b, const rdom_t *d, unsigned k)
{
	uint64_t h = hash64(d->idx, 0x3C);
	if (d->cls == DC_FREEMAIL) {
		static const char *const P[] = { "mx", "in", "mx-in-", "mta" };
		b_str(b, P[d->idx % 4]);
		b_u64(b, 1 + (k + h) % 4);
		b_ch(b, '.');
		b_str(b, d->name);
		return;
	}
	switch (h % 6) {
	case 0: b_str(b, "mx."); break;
	case 1: b_str(b, "mail."); break;
	case 2: b_str(b, k ? "mx2." : "mx1."); break;
	case 3: b_str(b, "smtp."); break;
	case 4:
		/* hosted by a filtering service */
		for (const char *s = d->name; *s && *s != '.'; s++)
			b_ch(b, *s);
		b_str(b, (h >> 8) % 2 ? ".mail.protection.hosted.example" : ".in.mxfilter.example");
		return;
	default: b_str(b, "mx0"); b_u64(b, 1 + k); b_ch(b, '.'); break;
	}
	b_str(b, d->name);
}

static void b_mx_ip(ml_buf_t *b, const rdom_t *d, unsigned k, int v6)
{
	uint64_t h = hash64(d->idx + 7, k);
	if (v6)
		b_ipv6(b, h);
	else
		b_ipv4(b, 1, (uint32_t)(h >> 8));
}

/* The sending host of remote domain d (for inbound mail): NAME and IP. */
static void remote_client(rng_t *r, const rdom_t *d, char *name, size_t ncap, char *ip, size_t icap)
{
	ml_buf_t b = ML_BUF_INIT;
	unsigned k = rng_below(r, 4);
	uint64_t h = hash64(d->idx + 99, k);
	int v6 = d->v6 && (h >> 7) % 3 == 0;
	if (d->cls == DC_FREEMAIL) {
		static const char *const P[] = { "mail-", "mout-", "smtp-out-", "o" };
		b_str(&b, P[d->idx % 4]);
		b_ch(&b, "abcdefgh"[h % 8]);
		b_ch(&b, "stuvwxyz"[(h >> 3) % 8]);
		b_u64(&b, 1 + (h >> 6) % 9);
		b_str(&b, "-f");
		b_u64(&b, 1 + (h >> 10) % 250);
		b_ch(&b, '.');
		b_str(&b, d->name);
	} else if (d->cls == DC_BULK) {
		static const char *const P[] = { "mta", "o", "out", "bounce-mta" };
		b_str(&b, P[d->style % 4]);
		b_u64(&b, 1 + (h >> 6) % 40);
		b_ch(&b, '.');
		b_str(&b, d->name);
	} else {
		switch (h % 5) {
		case 0: b_str(&b, "mail."); b_str(&b, d->name); break;
		case 1: b_str(&b, "smtp."); b_str(&b, d->name); break;
		case 2: b_str(&b, "mx."); b_str(&b, d->name); break;
		case 3: b_str(&b, "mout"); b_u64(&b, 1 + k); b_ch(&b, '.'); b_str(&b, d->name); break;
		default:
			for (const char *s = d->name; *s && *s != '.'; s++)
				b_ch(&b, *s);
			b_str(&b, "-com.mail.protection.hosted.example");
			break;
		}
	}
	bcopy_to(name, ncap, &b);
	b.len = 0;
	if (v6)
		b_ipv6(&b, h);
	else
		b_ipv4(&b, 1, (uint32_t)(h >> 16));
	bcopy_to(ip, icap, &b);
	ml_buf_free(&b);
}

/* A client on a dynamic or unknown address (spam, users at home). */
static void dynamic_client(rng_t *r, int named, char *name, size_t ncap, char *ip, size_t icap)
{
	ml_buf_t b = ML_BUF_INIT;
	int v6 = rng_chance(r, 0.12);
	uint32_t oct = 1 + rng_below(r, 254);
	if (v6)
		b_ipv6(&b, rng_next(r));
	else
		b_ipv4(&b, 2, oct - 1);
	bcopy_to(ip, icap, &b);
	b.len = 0;
	if (!named || v6) {
		b_str(&b, "unknown");
	} else {
		static const char *const ISP[] = { ".dyn.broadband.example", ".dsl.telco.test",
			".cable.isp.example", ".pool.mobile.example", ".customers.fiber.test" };
		switch (rng_below(r, 3)) {
		case 0: b_str(&b, "203-0-113-"); b_u64(&b, oct); break;
		case 1: b_str(&b, "cpe-203-0-113-"); b_u64(&b, oct); break;
		default: b_str(&b, "host-"); b_u64(&b, oct); b_str(&b, ".113.0.203"); break;
		}
		b_str(&b, PICK(r, ISP));
	}
	bcopy_to(name, ncap, &b);
	ml_buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* Subjects                                                            */

/* A subject: as the header was written (RFC 2047 encoded words, folding
 * as Postfix logs it: the line break shows as '?') and as a reader sees it
 * (UTF-8). */
typedef struct {
	char log[640];
	char utf8[400];
} subj_t;

enum { SK_BUSINESS, SK_NEWS, SK_NOTIFY, SK_SPAM, SK_CRON, SK_BOUNCE_IN, SK_INTERNAL };

static void b_cap(ml_buf_t *b, const char *s)
{
	if (*s >= 'a' && *s <= 'z') {
		b_ch(b, (char)(*s - 32));
		s++;
	}
	b_str(b, s);
}

static void b_np(ml_buf_t *b, rng_t *r, int cap)
{
	size_t start = b->len;
	if (rng_chance(r, 0.4)) {
		b_str(b, ZPICK(r, ADJ, 2));
		b_ch(b, ' ');
	}
	if (rng_chance(r, 0.3)) {
		b_str(b, ZPICK(r, NOUN, 6));
		b_ch(b, ' ');
	}
	b_str(b, ZPICK(r, NOUN, 1.5));
	if (cap && b->data[start] >= 'a' && b->data[start] <= 'z')
		b->data[start] = (char)(b->data[start] - 32);
}

/* The brand of the bulk sender whose subject is being made, if any. */
static const char *CUR_BRAND;

static void b_company(ml_buf_t *b, rng_t *r)
{
	uint64_t h = rng_next(r);
	if (CUR_BRAND && h % 5 != 0) {
		b_str(b, CUR_BRAND);
		return;
	}
	if (h % 3 == 0) {
		b_cap(b, HPICK(&h, LAST));
		b_ch(b, ' ');
		b_cap(b, HPICK(&h, INDUSTRY));
	} else if (h % 3 == 1) {
		b_cap(b, HPICK(&h, DOMWORD));
		b_str(b, HPICK(&h, DOMWORD));
		b_ch(b, ' ');
		b_str(b, HPICK(&h, COMPANY_SUFFIX));
	} else {
		b_str(b, HPICK(&h, BRAND));
	}
}

static void b_phrase(ml_buf_t *b, rng_t *r)
{
	switch (rng_below(r, 10)) {
	case 0: case 1: case 2: case 3:
		b_np(b, r, 1);
		break;
	case 4: case 5:
		b_np(b, r, 1);
		b_ch(b, ' ');
		b_str(b, ZPICK(r, PREP, 1));
		b_ch(b, ' ');
		b_np(b, r, 0);
		break;
	case 6:
		b_cap(b, ZPICK(r, VERB, 2));
		b_ch(b, ' ');
		b_np(b, r, 0);
		break;
	case 7:
		b_np(b, r, 1);
		b_str(b, " - ");
		b_cap(b, ZPICK(r, FIRST, 4));
		break;
	case 8:
		b_np(b, r, 1);
		b_ch(b, ' ');
		b_str(b, PICK(r, CODENAME));
		break;
	default:
		b_cap(b, PICK(r, CODENAME));
		b_ch(b, ' ');
		b_np(b, r, 0);
		break;
	}
}

static void b_when(ml_buf_t *b, rng_t *r, int64_t t)
{
	civil_t c = civil_from_secs(t / US_PER_S + 86400 * (int64_t)rng_below(r, 20));
	switch (rng_below(r, 4)) {
	case 0:
		b_str(b, "Q");
		b_u64(b, (uint64_t)(c.mon - 1) / 3 + 1);
		b_ch(b, ' ');
		b_u64(b, (uint64_t)c.year);
		break;
	case 1:
		b_str(b, MONTHS_LONG[c.mon - 1]);
		b_ch(b, ' ');
		b_u64(b, (uint64_t)c.year);
		break;
	case 2:
		b_str(b, WDAYS[c.wday]);
		b_ch(b, ' ');
		b_u64(b, (uint64_t)c.day);
		b_ch(b, ' ');
		b_str(b, MONTHS[c.mon - 1]);
		break;
	default:
		b_u0(b, (uint64_t)c.year, 4);
		b_ch(b, '-');
		b_u0(b, (uint64_t)c.mon, 2);
		b_ch(b, '-');
		b_u0(b, (uint64_t)c.day, 2);
		break;
	}
}

/* Plain text of a subject of kind k, into b (UTF-8). */
static void subject_text(ml_buf_t *b, rng_t *r, int k, int64_t t, const char *host)
{
	static const char *const RE[] = { "Re: ", "RE: ", "Fwd: ", "FW: ", "AW: ", "Re: Re: ", "TR: ", "RV: ", "Fw: " };
	static const double REW[] = { 60, 15, 10, 6, 4, 3, 1, 1, 2 };
	if (k == SK_BUSINESS || k == SK_INTERNAL) {
		if (rng_chance(r, 0.42))
			b_str(b, RE[rng_pick(r, REW, ML_ARRAY_LEN(REW))]);
		switch (rng_below(r, 24)) {
		case 0: case 1: case 2: case 3: case 4: case 5: case 6:
			b_phrase(b, r);
			break;
		case 7:
			b_phrase(b, r);
			b_ch(b, ' ');
			b_when(b, r, t);
			break;
		case 8:
			b_str(b, PICK(r, ((const char *const[]){ "Meeting: ", "Call: ", "Agenda: ", "Minutes: " })));
			b_np(b, r, 0);
			break;
		case 9: {
			static const char *const INV[] = { "Invitation: ", "Updated invitation: ", "Accepted: ", "Declined: ", "Tentative: " };
			static const double INW[] = { 6, 2, 4, 1, 1 };
			civil_t c = civil_from_secs(t / US_PER_S + 86400 * (1 + (int64_t)rng_below(r, 10)));
			int hh = 8 + (int)rng_below(r, 9);
			b_str(b, INV[rng_pick(r, INW, 5)]);
			b_np(b, r, 1);
			b_str(b, " @ ");
			b_str(b, WDAYS[c.wday]);
			b_ch(b, ' ');
			b_str(b, MONTHS[c.mon - 1]);
			b_ch(b, ' ');
			b_u64(b, (uint64_t)c.day);
			b_str(b, ", ");
			b_u64(b, (uint64_t)c.year);
			b_ch(b, ' ');
			b_u64(b, (uint64_t)(hh > 12 ? hh - 12 : hh));
			b_str(b, hh >= 12 ? "pm" : "am");
			b_str(b, " - ");
			b_u64(b, (uint64_t)(hh + 1 > 12 ? hh - 11 : hh + 1));
			b_str(b, hh + 1 >= 12 ? "pm" : "am");
			b_str(b, " (UTC)");
			break;
		}
		case 10:
			b_str(b, "Question about ");
			b_np(b, r, 0);
			break;
		case 11:
			b_np(b, r, 1);
			b_str(b, " for ");
			b_company(b, r);
			break;
		case 12:
			b_str(b, PICK(r, ((const char *const[]){ "Follow-up: ", "Urgent: ", "Important: ", "FYI: " })));
			b_phrase(b, r);
			break;
		case 13:
			b_str(b, "Draft ");
			b_np(b, r, 0);
			b_str(b, " v");
			b_u64(b, 1 + rng_below(r, 5));
			break;
		case 14:
			b_ch(b, '[');
			b_str(b, PICK(r, CODENAME));
			b_str(b, "] ");
			b_phrase(b, r);
			break;
		case 15:
			b_str(b, PICK(r, ((const char *const[]){ "Out of Office: ", "Automatic reply: ", "Abwesenheitsnotiz: " })));
			b_phrase(b, r);
			break;
		case 16:
			b_str(b, "Contract ");
			b_company(b, r);
			b_str(b, " ");
			b_u64(b, 2020 + rng_below(r, 7));
			b_ch(b, '-');
			b_u0(b, rng_below(r, 1000), 3);
			break;
		case 17:
			b_str(b, "Thanks for ");
			b_str(b, PICK(r, ((const char *const[]){ "the ", "your ", "today's ", "the quick " })));
			b_np(b, r, 0);
			break;
		case 18:
			b_np(b, r, 1);
			b_str(b, " (");
			b_company(b, r);
			b_ch(b, ')');
			break;
		case 19:
			b_str(b, "Lunch ");
			b_str(b, PICK(r, ((const char *const[]){ "today?", "on Friday?", "next week", "with the team" })));
			break;
		default:
			b_np(b, r, 1);
			break;
		}
		return;
	}
	if (k == SK_NEWS) {
		switch (rng_below(r, 12)) {
		case 0: case 1:
			b_company(b, r);
			b_str(b, " Newsletter - ");
			b_str(b, MONTHS_LONG[civil_from_secs(t / US_PER_S).mon - 1]);
			b_ch(b, ' ');
			b_u64(b, (uint64_t)civil_from_secs(t / US_PER_S).year);
			break;
		case 2:
			b_str(b, "Your weekly ");
			b_str(b, ZPICK(r, NOUN, 3));
			b_str(b, " digest");
			break;
		case 3:
			b_u64(b, 10 + 5 * rng_below(r, 12));
			b_str(b, "% off ");
			b_np(b, r, 0);
			b_str(b, " this weekend only");
			break;
		case 4:
			b_str(b, "Last chance: ");
			b_phrase(b, r);
			break;
		case 5:
			b_str(b, "Webinar: ");
			b_phrase(b, r);
			break;
		case 6:
			b_ch(b, '[');
			b_str(b, PICK(r, LISTS));
			b_str(b, "] ");
			if (rng_chance(r, 0.3))
				b_str(b, "Re: ");
			b_phrase(b, r);
			break;
		case 7:
			b_str(b, "Top ");
			b_u64(b, 3 + rng_below(r, 8));
			b_ch(b, ' ');
			b_str(b, ZPICK(r, NOUN, 3));
			b_str(b, " ideas for ");
			b_u64(b, (uint64_t)civil_from_secs(t / US_PER_S).year + 1);
			break;
		case 8:
			b_str(b, "New: ");
			b_np(b, r, 1);
			b_str(b, " from ");
			b_company(b, r);
			break;
		case 9:
			b_str(b, "Invitation to our ");
			b_str(b, ZPICK(r, ADJ, 2));
			b_ch(b, ' ');
			b_str(b, PICK(r, ((const char *const[]){ "open day", "customer event", "product launch", "webinar", "summit" })));
			break;
		default:
			b_company(b, r);
			b_str(b, ": ");
			b_phrase(b, r);
			break;
		}
		return;
	}
	if (k == SK_NOTIFY) {
		switch (rng_below(r, 16)) {
		case 0:
			b_str(b, "Your order #");
			b_u64(b, 100000 + rng_below(r, 900000));
			b_str(b, " has shipped");
			break;
		case 1:
			b_str(b, "Order confirmation #");
			b_u64(b, 100000 + rng_below(r, 900000));
			break;
		case 2:
			b_str(b, "Invoice INV-");
			b_u64(b, (uint64_t)civil_from_secs(t / US_PER_S).year);
			b_ch(b, '-');
			b_u0(b, rng_below(r, 100000), 5);
			b_str(b, " from ");
			b_company(b, r);
			break;
		case 3:
			b_str(b, "Payment received - thank you");
			break;
		case 4:
			b_str(b, "Your ");
			b_str(b, PICK(r, SERVICE));
			b_str(b, " statement is ready");
			break;
		case 5:
			b_str(b, "Password reset request");
			break;
		case 6:
			b_str(b, "Security alert: new sign-in on ");
			b_str(b, PICK(r, DEVICE));
			break;
		case 7:
			b_str(b, "Your verification code is ");
			b_u0(b, rng_below(r, 1000000), 6);
			break;
		case 8:
			b_str(b, "[JIRA] (");
			b_str(b, PICK(r, JIRAKEY));
			b_ch(b, '-');
			b_u64(b, 1 + rng_zipf(r, 5000, 50));
			b_str(b, ") ");
			b_phrase(b, r);
			break;
		case 9:
			b_ch(b, '[');
			b_str(b, PICK(r, CODENAME));
			b_str(b, "] Pipeline #");
			b_u64(b, 100000 + rng_below(r, 900000));
			b_str(b, rng_chance(r, 0.7) ? " has failed for main" : " has been fixed for main");
			break;
		case 10:
			b_str(b, "Re: [ticket #");
			b_u64(b, 10000 + rng_below(r, 90000));
			b_str(b, "] ");
			b_phrase(b, r);
			break;
		case 11:
			b_str(b, "Reminder: ");
			b_np(b, r, 0);
			b_str(b, " tomorrow at ");
			b_u0(b, 8 + rng_below(r, 10), 2);
			b_str(b, rng_chance(r, 0.5) ? ":00" : ":30");
			break;
		case 12:
			b_str(b, "Report domain: ");
			b_str(b, G.o.local_domains[rng_below(r, (uint32_t)G.o.nlocal)]);
			b_str(b, " Submitter: ");
			b_str(b, G.rd[rng_below(r, G.nbig)].name);
			b_str(b, " Report-ID: <");
			b_u64(b, rng_next(r) % 100000000000000000ULL);
			b_ch(b, '>');
			break;
		case 13:
			b_str(b, "Your package is out for delivery");
			break;
		case 14:
			b_str(b, "Your subscription will renew on ");
			b_when(b, r, t);
			break;
		default:
			b_str(b, "New login to your ");
			b_str(b, PICK(r, SERVICE));
			b_str(b, " account");
			break;
		}
		return;
	}
	if (k == SK_SPAM) {
		switch (rng_below(r, 14)) {
		case 0: b_str(b, "Congratulations! You have won a "); b_str(b, ZPICK(r, NOUN, 3)); break;
		case 1: b_str(b, "URGENT: Your account will be suspended"); break;
		case 2: b_str(b, "Re: Invoice overdue - action required"); break;
		case 3: b_str(b, "You have ("); b_u64(b, 2 + rng_below(r, 9)); b_str(b, ") undelivered messages"); break;
		case 4: b_str(b, "Your mailbox is almost full"); break;
		case 5: b_str(b, "Cheap "); b_str(b, ZPICK(r, NOUN, 3)); b_str(b, " - "); b_u64(b, 50 + rng_below(r, 40)); b_str(b, "% discount"); break;
		case 6: b_str(b, "Claim your reward now!!!"); break;
		case 7: b_str(b, "Final notice: payment of $"); b_u64(b, 100 + rng_below(r, 9900)); b_str(b, ".00"); break;
		case 8: b_str(b, "Dear friend, I need your assistance"); break;
		case 9: b_str(b, "Investment opportunity with "); b_u64(b, 20 + rng_below(r, 300)); b_str(b, "% return"); break;
		case 10: b_str(b, "Verify your account immediately"); break;
		case 11: b_str(b, "Your parcel could not be delivered"); break;
		case 12: b_str(b, "Re: "); b_str(b, PICK(r, NOUN)); b_ch(b, ' '); b_str(b, PICK(r, NOUN)); b_ch(b, ' '); b_u64(b, rng_below(r, 99999)); break;
		default: b_str(b, "Meet new people near you"); break;
		}
		return;
	}
	if (k == SK_CRON) {
		b_str(b, "Cron <root@");
		b_str(b, host);
		b_str(b, "> ");
		b_str(b, PICK(r, CRON));
		return;
	}
	/* SK_BOUNCE_IN: a remote server's bounce */
	b_str(b, PICK(r, ((const char *const[]){ "Undelivered Mail Returned to Sender",
		"Delivery Status Notification (Failure)", "Mail delivery failed: returning message to sender",
		"Returned mail: see transcript for details", "Undeliverable: " })));
	if (b->data[b->len - 1] == ' ')
		b_phrase(b, r);
}

/* RFC 2047 encoding, as mail clients do it. */
static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b_base64(ml_buf_t *b, const unsigned char *p, size_t n)
{
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		b_ch(b, B64[v >> 18]);
		b_ch(b, B64[(v >> 12) & 63]);
		b_ch(b, B64[(v >> 6) & 63]);
		b_ch(b, B64[v & 63]);
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		b_ch(b, B64[v >> 18]);
		b_ch(b, B64[(v >> 12) & 63]);
		b_str(b, "==");
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		b_ch(b, B64[v >> 18]);
		b_ch(b, B64[(v >> 12) & 63]);
		b_ch(b, B64[(v >> 6) & 63]);
		b_ch(b, '=');
	}
}

static int q_plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '!' || c == '*' || c == '+' || c == '-' || c == '/' || c == '.' || c == ',';
}

static size_t q_len(const unsigned char *p, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += q_plain(p[i]) || p[i] == ' ' ? 1 : 3;
	return k;
}

static void b_qenc(ml_buf_t *b, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == ' ')
			b_ch(b, '_');
		else if (q_plain(p[i]))
			b_ch(b, (char)p[i]);
		else {
			b_ch(b, '=');
			b_ch(b, HEXU[p[i] >> 4]);
			b_ch(b, HEXU[p[i] & 15]);
		}
	}
}

static size_t utf8_len(unsigned char c, int latin1)
{
	if (latin1 || c < 0x80)
		return 1;
	return c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
}

/* UTF-8 to ISO-8859-1; 0 when a character has no Latin-1 form. */
static int to_latin1(const char *s, size_t n, ml_buf_t *out)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		if (p[i] < 0x80) {
			b_ch(out, (char)p[i++]);
		} else if ((p[i] & 0xE0) == 0xC0 && i + 1 < n && p[i] <= 0xC3) {
			b_ch(out, (char)(((p[i] & 0x1F) << 6) | (p[i + 1] & 0x3F)));
			i += 2;
		} else {
			return 0;
		}
	}
	return 1;
}

/* Encoded words for p[0..n) (bytes in charset cs), appended to b; col is the
 * column of the header line so far.  Words are split at character
 * boundaries; a word that would pass column 76 starts a folded line. */
static void b_encwords(ml_buf_t *b, size_t *col, const char *cs, int use_b, int latin1,
		       const unsigned char *p, size_t n, int first_sep)
{
	size_t overhead = strlen(cs) + 7;
	size_t i = 0;
	int first = 1;
	while (i < n) {
		size_t j = i, enc = 0;
		while (j < n) {
			size_t cl = utf8_len(p[j], latin1);
			if (j + cl > n)
				cl = n - j;
			size_t e = use_b ? ((j + cl - i + 2) / 3) * 4 : enc + q_len(p + j, cl);
			if (e + overhead > 75 && j > i)
				break;
			enc = use_b ? 0 : e;
			j += cl;
		}
		size_t wlen = overhead + (use_b ? ((j - i + 2) / 3) * 4 : q_len(p + i, j - i));
		if (!first || first_sep) {
			if (*col + 1 + wlen > 76) {
				b_str(b, "? ");
				*col = 1;
			} else {
				b_ch(b, ' ');
				(*col)++;
			}
		}
		b_str(b, "=?");
		b_str(b, cs);
		b_str(b, use_b ? "?B?" : "?Q?");
		if (use_b)
			b_base64(b, p + i, j - i);
		else
			b_qenc(b, p + i, j - i);
		b_str(b, "?=");
		*col += wlen;
		first = 0;
		i = j;
	}
}

static int has_8bit(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 1;
	return 0;
}

/* The Subject header value of text (UTF-8) as a client would write it. */
static void subject_encode(ml_buf_t *out, rng_t *r, const char *text, size_t n, int nonlatin)
{
	if (!has_8bit(text, n) || rng_chance(r, 0.08)) {
		b_mem(out, text, n);  /* ASCII, or raw UTF-8 (SMTPUTF8 clients) */
		return;
	}
	ml_buf_t lat = ML_BUF_INIT;
	int latin1 = !nonlatin && rng_chance(r, 0.25) && to_latin1(text, n, &lat);
	const char *cs = latin1 ? (rng_chance(r, 0.5) ? "ISO-8859-1" : "iso-8859-1")
				: (rng_chance(r, 0.75) ? "UTF-8" : "utf-8");
	int use_b = nonlatin ? rng_chance(r, 0.9) : rng_chance(r, 0.35);
	const unsigned char *p = latin1 ? (const unsigned char *)lat.data : (const unsigned char *)text;
	size_t pn = latin1 ? lat.len : n;
	size_t col = 9;  /* "Subject: " */
	if (use_b || rng_chance(r, 0.5)) {
		/* the whole value in encoded words */
		b_encwords(out, &col, cs, use_b, latin1, p, pn, 0);
	} else {
		/* only the words with 8-bit characters, runs of them together */
		size_t i = 0;
		int any = 0;
		while (i < pn) {
			size_t ws = i;
			while (i < pn && p[i] != ' ')
				i++;
			int eight = has_8bit((const char *)p + ws, i - ws);
			if (!eight) {
				if (any) {
					b_ch(out, ' ');
					col++;
				}
				b_mem(out, p + ws, i - ws);
				col += i - ws;
			} else {
				/* extend over following 8-bit words */
				size_t we = i;
				while (we < pn) {
					size_t ns = we + 1, ne = ns;
					while (ne < pn && p[ne] != ' ')
						ne++;
					if (!has_8bit((const char *)p + ns, ne - ns))
						break;
					we = ne;
				}
				b_encwords(out, &col, cs, 0, latin1, p + ws, we - ws, any);
				i = we;
			}
			any = 1;
			while (i < pn && p[i] == ' ')
				i++;
		}
	}
	ml_buf_free(&lat);
}

static void subject_make(subj_t *s, rng_t *r, int kind, int64_t t, const char *host)
{
	ml_buf_t txt = ML_BUF_INIT, enc = ML_BUF_INIT;
	int nonlatin = 0;
	double u = rng_unit(r);
	if (kind != SK_CRON && kind != SK_BOUNCE_IN && u < 0.10) {
		/* another language (or emoji in newsletters) */
		static const double LW[] = { 30, 18, 14, 14, 12, 12 };
		int lang = rng_pick(r, LW, 6);
		const char *src;
		if (kind == SK_NEWS && rng_chance(r, 0.6))
			lang = 5;
		switch (lang) {
		case 0: src = ZPICK(r, SUBJ_DE, 3); break;
		case 1: src = ZPICK(r, SUBJ_FR, 3); break;
		case 2: src = ZPICK(r, SUBJ_ES, 3); break;
		case 3: src = ZPICK(r, SUBJ_RU, 3); nonlatin = 1; break;
		case 4: src = ZPICK(r, SUBJ_JA, 3); nonlatin = 1; break;
		default: src = PICK(r, SUBJ_EMOJI); nonlatin = 1; break;
		}
		if (kind == SK_BUSINESS && rng_chance(r, 0.3))
			b_str(&txt, lang == 0 ? "AW: " : "Re: ");
		for (; *src; src++) {
			if (*src == '#')
				b_u64(&txt, 1000 + rng_below(r, 90000));
			else
				b_ch(&txt, *src);
		}
	} else {
		subject_text(&txt, r, kind, t, host);
	}
	if (txt.len >= sizeof s->utf8) {
		/* cut at a character boundary */
		txt.len = sizeof s->utf8 - 1;
		while (txt.len && (txt.data[txt.len] & 0xC0) == 0x80)
			txt.len--;
	}
	bcopy_to(s->utf8, sizeof s->utf8, &txt);
	subject_encode(&enc, r, txt.data, txt.len, nonlatin);
	bcopy_to(s->log, sizeof s->log, &enc);
	ml_buf_free(&txt);
	ml_buf_free(&enc);
}

/* ------------------------------------------------------------------ */
/* Message-IDs                                                         */

enum { MID_POSTFIX, MID_UUID, MID_APPLE, MID_FREEMAIL, MID_EXCHANGE, MID_ESP,
	MID_HEX, MID_JAVA, MID_SPAM, MID_NONE };

static void b_rand_chars(ml_buf_t *b, rng_t *r, const char *alpha, size_t n)
{
	size_t k = strlen(alpha);
	for (size_t i = 0; i < n; i++)
		b_ch(b, alpha[rng_below(r, (uint32_t)k)]);
}

static void b_uuid(ml_buf_t *b, rng_t *r, const char *digits)
{
	uint64_t a = rng_next(r), c = rng_next(r);
	b_hex(b, a >> 32, 8, digits);
	b_ch(b, '-');
	b_hex(b, a >> 16, 4, digits);
	b_ch(b, '-');
	b_hex(b, 0x4000 | (a & 0x0fff), 4, digits);
	b_ch(b, '-');
	b_hex(b, 0x8000 | (c >> 48 & 0x3fff), 4, digits);
	b_ch(b, '-');
	b_hex(b, c, 12, digits);
}

/* A Message-ID (without the angle brackets). */
static void b_msgid(ml_buf_t *b, rng_t *r, int style, const char *dom, int64_t t,
		    const char *qid, const char *myhost)
{
	static const char ALNUM[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	civil_t c = civil_from_secs(t / US_PER_S);
	switch (style) {
	case MID_POSTFIX:
		b_u0(b, (uint64_t)c.year, 4);
		b_u0(b, (uint64_t)c.mon, 2);
		b_u0(b, (uint64_t)c.day, 2);
		b_u0(b, (uint64_t)c.hour, 2);
		b_u0(b, (uint64_t)c.min, 2);
		b_u0(b, (uint64_t)c.sec, 2);
		b_ch(b, '.');
		b_str(b, qid);
		b_ch(b, '@');
		b_str(b, myhost);
		break;
	case MID_UUID:
		b_uuid(b, r, HEXL);
		b_ch(b, '@');
		b_str(b, dom);
		break;
	case MID_APPLE:
		b_uuid(b, r, HEXU);
		b_ch(b, '@');
		b_str(b, dom);
		break;
	case MID_FREEMAIL:
		b_str(b, "CA");
		b_ch(b, "FJKBEGH"[rng_below(r, 7)]);
		b_ch(b, "+=_"[rng_below(r, 3)]);
		b_rand_chars(b, r, ALNUM, 36 + rng_below(r, 14));
		b_str(b, "@mail.");
		b_str(b, dom);
		break;
	case MID_EXCHANGE: {
		static const char *const PFX[] = { "AM0PR", "DB9PR", "VI1PR", "PA4PR", "FR3PR", "BN6PR", "CH2PR" };
		ml_buf_t srv = ML_BUF_INIT;
		b_str(&srv, PICK(r, PFX));
		b_u0(&srv, rng_below(r, 100), 2);
		b_str(&srv, "MB");
		b_u0(&srv, rng_below(r, 10000), 4);
		b_mem(b, srv.data, srv.len);
		b_rand_chars(b, r, "0123456789ABCDEF", 20);
		b_ch(b, '@');
		b_mem(b, srv.data, srv.len);
		b_str(b, ".eurprd");
		b_u0(b, rng_below(r, 10), 2);
		b_str(b, ".prod.exchangelabs.example");
		ml_buf_free(&srv);
		break;
	}
	case MID_ESP:
		b_str(b, "0100019");
		b_rand_chars(b, r, "0123456789abcdef", 9);
		b_ch(b, '-');
		b_uuid(b, r, HEXL);
		b_str(b, "-000000@email.");
		b_str(b, dom);
		break;
	case MID_HEX:
		b_rand_chars(b, r, "0123456789abcdef", 32);
		b_ch(b, '@');
		b_str(b, dom);
		break;
	case MID_JAVA:
		b_u64(b, rng_below(r, 2000000000));
		b_ch(b, '.');
		b_u64(b, rng_below(r, 100000));
		b_ch(b, '.');
		b_u64(b, (uint64_t)(t / 1000));
		b_str(b, ".JavaMail.app@");
		b_str(b, dom);
		break;
	case MID_SPAM:
		b_u64(b, rng_next(r) % 100000000);
		b_ch(b, '.');
		b_rand_chars(b, r, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 12);
		b_ch(b, '@');
		b_str(b, dom);
		break;
	default:
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Output: buffered writer, syslog headers                             */

typedef struct {
	FILE *f;
	char *buf;
	size_t len, cap;
	const char *path;
} out_t;

static out_t OUT, TRUTH;

static void out_open(out_t *o, const char *path)
{
	o->path = path;
	if (strcmp(path, "-") == 0) {
		o->f = stdout;
	} else {
		o->f = fopen(path, "wb");
		if (!o->f) {
			fprintf(stderr, "gen: %s: %s\n", path, strerror(errno));
			exit(1);
		}
	}
	o->cap = 4u << 20;
	o->buf = xmalloc(o->cap);
	o->len = 0;
}

static void out_flush(out_t *o)
{
	if (o->len && fwrite(o->buf, 1, o->len, o->f) != o->len) {
		fprintf(stderr, "gen: %s: write failed: %s\n", o->path, strerror(errno));
		exit(1);
	}
	o->len = 0;
}

static void out_close(out_t *o)
{
	if (!o->f)
		return;
	out_flush(o);
	if ((o->f == stdout ? fflush(o->f) : fclose(o->f)) != 0) {
		fprintf(stderr, "gen: %s: %s\n", o->path, strerror(errno));
		exit(1);
	}
	free(o->buf);
	o->f = NULL;
}

static inline void out_mem(out_t *o, const char *p, size_t n)
{
	if (o->cap - o->len < n) {
		out_flush(o);
		if (n > o->cap) {
			if (fwrite(p, 1, n, o->f) != n)
				die("write failed");
			return;
		}
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

/* The timestamp and host part of a line, cached per second and host. */
static struct {
	int64_t sec;
	char ts[40];
	size_t tslen;
} TSC = { -1, "", 0 };

static void out_line(int64_t t, int host, int prog, uint32_t pid, const char *body, size_t n)
{
	int64_t sec = t / US_PER_S;
	if (sec != TSC.sec) {
		ml_buf_t b = { TSC.ts, 0, sizeof TSC.ts };
		if (G.o.rfc3339)
			b_isotime(&b, sec);
		else
			b_bsdtime(&b, sec);
		TSC.tslen = b.len;
		TSC.sec = sec;
	}
	char hdr[160];
	size_t k = 0;
	memcpy(hdr, TSC.ts, TSC.tslen);
	k = TSC.tslen;
	if (G.o.rfc3339) {
		uint32_t us = (uint32_t)(t % US_PER_S);
		hdr[k++] = '.';
		for (int i = 5; i >= 0; i--) {
			hdr[k + (size_t)i] = (char)('0' + us % 10);
			us /= 10;
		}
		k += 6;
		memcpy(hdr + k, "+00:00", 6);
		k += 6;
	}
	hdr[k++] = ' ';
	const char *hn = G.hosts[host].name;
	size_t hl = strlen(hn);
	memcpy(hdr + k, hn, hl);
	k += hl;
	hdr[k++] = ' ';
	const char *pn = PROG[prog];
	size_t pl = strlen(pn);
	memcpy(hdr + k, pn, pl);
	k += pl;
	hdr[k++] = '[';
	char tmp[12];
	int d = 0;
	do {
		tmp[d++] = (char)('0' + pid % 10);
		pid /= 10;
	} while (pid);
	while (d)
		hdr[k++] = tmp[--d];
	hdr[k++] = ']';
	hdr[k++] = ':';
	hdr[k++] = ' ';
	out_mem(&OUT, hdr, k);
	out_mem(&OUT, body, n);
	out_mem(&OUT, "\n", 1);
	G.n_lines++;
	G.n_bytes += k + n + 1;
}

/* ------------------------------------------------------------------ */
/* The time-ordered heap of lines to write                             */

typedef struct {
	uint32_t refs;
	char text[];
} block_t;

struct msg;

typedef struct {
	int64_t t;
	uint64_t seq;
	void *p;           /* block_t *, or struct msg * for a wake-up */
	uint32_t off, len, pid;
	uint8_t host, prog, wake;
} ev_t;

static ev_t *HP;
static size_t HN, HCAP;
static uint64_t HSEQ;

static inline int ev_less(const ev_t *a, const ev_t *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void heap_push(ev_t *e)
{
	if (HN == HCAP) {
		HCAP = HCAP ? HCAP * 2 : 4096;
		HP = xrealloc(HP, HCAP * sizeof *HP);
	}
	e->seq = HSEQ++;
	size_t i = HN++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!ev_less(e, &HP[parent]))
			break;
		HP[i] = HP[parent];
		i = parent;
	}
	HP[i] = *e;
}

static void heap_pop(ev_t *out)
{
	*out = HP[0];
	ev_t last = HP[--HN];
	size_t i = 0, n = HN;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && ev_less(&HP[c + 1], &HP[c]))
			c++;
		if (!ev_less(&HP[c], &last))
			break;
		HP[i] = HP[c];
		i = c;
	}
	if (n)
		HP[i] = last;
}

/* Lines being planned: bodies in ST, one SL entry per line.  Committed as
 * one block to the heap. */
typedef struct {
	int64_t t;
	uint32_t off, len, pid;
	uint8_t host, prog;
} sl_t;

static ml_buf_t ST;
static sl_t *SL;
static size_t SLN, SLCAP;

static void stage_close(void)
{
	if (SLN)
		SL[SLN - 1].len = (uint32_t)(ST.len - SL[SLN - 1].off);
}

/* Start a line; append its body to the returned buffer. */
static ml_buf_t *line(int host, int prog, uint32_t pid, int64_t t)
{
	stage_close();
	if (SLN == SLCAP) {
		SLCAP = SLCAP ? SLCAP * 2 : 256;
		SL = xrealloc(SL, SLCAP * sizeof *SL);
	}
	sl_t *s = &SL[SLN++];
	s->t = t;
	s->off = (uint32_t)ST.len;
	s->len = 0;
	s->pid = pid;
	s->host = (uint8_t)host;
	s->prog = (uint8_t)prog;
	return &ST;
}

static void stage_commit(void)
{
	stage_close();
	uint32_t keep = 0;
	for (size_t i = 0; i < SLN; i++)
		keep += SL[i].t <= G.cutoff_us;
	if (keep) {
		block_t *blk = xmalloc(sizeof *blk + ST.len);
		blk->refs = keep;
		memcpy(blk->text, ST.data, ST.len);
		for (size_t i = 0; i < SLN; i++) {
			if (SL[i].t > G.cutoff_us)
				continue;
			ev_t e = { SL[i].t, 0, blk, SL[i].off, SL[i].len, SL[i].pid, SL[i].host, SL[i].prog, 0 };
			heap_push(&e);
		}
	}
	SLN = 0;
	ST.len = 0;
}

/* ------------------------------------------------------------------ */
/* Messages                                                            */

enum { MK_INBOUND, MK_SUBMISSION, MK_PICKUP, MK_NDR };
enum { T_SMTP, T_MAILBOX, T_LOCAL };          /* how a group is delivered */
enum { O_SENT, O_BOUNCE, O_EXPIRE };          /* how it ends */
enum { DR_GREYLIST, DR_TIMEOUT, DR_REFUSED, DR_RATE, DR_MBOXFULL, DR_DNS,
	DR_LOST, DR_LOCAL };                   /* why it is deferred */
enum { BR_UNKNOWN, BR_NXDOMAIN, BR_SPAM, BR_FULL, BR_LOCAL_QUOTA };

typedef struct {
	rdom_t d;          /* destination (T_SMTP); d.name points to dname */
	char dname[72];
	uint8_t trans, outcome, ndefer, dreason, breason, done;
	uint8_t tls;       /* TLS to the next hop */
} group_t;

typedef struct {
	char to[100];
	char orig[100];
	uint16_t group;
	uint8_t status;
} rcpt_t;

typedef struct msg {
	int kind;
	int host;
	uint32_t inode;
	char qid[24];
	char from[136];
	char msgid[200];
	subj_t subj;
	int subj_logged;   /* the subject appears in a log line */
	char cname[112], cip[48], helo[112];
	int64_t t_arrive;  /* queue file created: delay= counts from here */
	int64_t t_first;   /* first line that names the queue ID */
	uint64_t size;
	int nr, ng, cap;
	group_t *g;
	rcpt_t *r;
	rdom_t sdom;       /* the sender's domain when remote (for bounces) */
	char sdname[72];
	int sender_local;
	int pass;          /* passes done */
	int warned;        /* delay notification sent */
	int bounce_kind;   /* MK_NDR: 0 non-delivery, 1 delay notification */
	rng_t rng;         /* for later passes */
} msg_t;

static msg_t *msg_new(int nr)
{
	size_t sz = sizeof(msg_t) + (size_t)nr * (sizeof(group_t) + sizeof(rcpt_t));
	msg_t *m = calloc(1, sz);
	if (!m)
		die("out of memory");
	m->g = (group_t *)(m + 1);
	m->r = (rcpt_t *)(m->g + nr);
	m->cap = nr;
	return m;
}

static void set_status(msg_t *m, int i, int st, int64_t t)
{
	if (t <= G.cutoff_us)
		m->r[i].status = (uint8_t)st;
}

static void set_all(msg_t *m, int st, int64_t t)
{
	for (int i = 0; i < m->nr; i++)
		set_status(m, i, st, t);
}

/* The destination of a remote domain name that is not in the tables (spam
 * senders, typos): properties from a hash of the name. */
static void dest_from_name(rdom_t *d, char *buf, size_t cap, const char *name)
{
	scopy(buf, cap, name, strlen(name));
	memset(d, 0, sizeof *d);
	d->name = buf;
	uint64_t h = str_hash(name);
	d->idx = 300000 + (uint32_t)(h % 1000000);
	d->cls = DC_BIZ;
	d->style = (uint8_t)(h % 5);
	d->users = 10;
}

static int group_for(msg_t *m, int trans, const rdom_t *d)
{
	for (int i = 0; i < m->ng; i++) {
		group_t *g = &m->g[i];
		if (g->trans == trans && (trans != T_SMTP || strcmp(g->dname, d->name) == 0))
			return i;
	}
	group_t *g = &m->g[m->ng];
	memset(g, 0, sizeof *g);
	g->trans = (uint8_t)trans;
	if (d) {
		g->d = *d;
		scopy(g->dname, sizeof g->dname, d->name, strlen(d->name));
		g->d.name = g->dname;
	}
	return m->ng++;
}

static void add_rcpt(msg_t *m, const char *to, const char *orig, int group)
{
	if (m->nr >= m->cap)
		return;
	rcpt_t *r = &m->r[m->nr++];
	scopy(r->to, sizeof r->to, to, strlen(to));
	scopy(r->orig, sizeof r->orig, orig ? orig : "", orig ? strlen(orig) : 0);
	r->group = (uint16_t)group;
	r->status = ST_NONE;
}

static int has_rcpt(const msg_t *m, const char *to)
{
	for (int i = 0; i < m->nr; i++)
		if (strcmp(m->r[i].to, to) == 0)
			return 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Truth                                                               */

static void tj_str(ml_buf_t *b, const char *s)
{
	b_ch(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			b_ch(b, '\\');
			b_ch(b, (char)c);
		} else if (c < 0x20) {
			b_str(b, "\\u00");
			b_ch(b, HEXL[c >> 4]);
			b_ch(b, HEXL[c & 15]);
		} else {
			b_ch(b, (char)c);
		}
	}
	b_ch(b, '"');
}

static void truth_row(ml_buf_t *b, int host, const char *qid, const char *from, const char *to,
		      const char *orig, const char *subj, int st, const char *msgid,
		      const char *ip, int64_t t)
{
	G.n_rows[st]++;
	if (!TRUTH.f)
		return;
	b->len = 0;
	b_str(b, "{\"host\":");
	tj_str(b, G.hosts[host].name);
	b_str(b, ",\"queue_id\":");
	tj_str(b, qid);
	b_str(b, ",\"from\":");
	tj_str(b, from);
	b_str(b, ",\"to\":");
	tj_str(b, to);
	b_str(b, ",\"orig_to\":");
	tj_str(b, orig);
	b_str(b, ",\"subject\":");
	tj_str(b, subj);
	b_str(b, ",\"status\":\"");
	b_str(b, STNAME[st]);
	b_str(b, "\",\"message_id\":");
	tj_str(b, msgid);
	b_str(b, ",\"client_ip\":");
	tj_str(b, ip);
	b_str(b, ",\"time\":\"");
	b_isotime(b, t / US_PER_S);
	b_str(b, "Z\"}\n");
	out_mem(&TRUTH, b->data, b->len);
}

static ml_buf_t TB;

/* The rows of a message, as its written lines tell them. */
static void truth_msg(const msg_t *m)
{
	if (m->t_first > G.cutoff_us)
		return;
	for (int i = 0; i < m->nr; i++) {
		int st = m->r[i].status ? m->r[i].status : ST_QUEUED;
		truth_row(&TB, m->host, m->qid, m->from, m->r[i].to, m->r[i].orig,
			  m->subj_logged ? m->subj.utf8 : "", st, m->msgid, m->cip, m->t_first);
	}
}

/* ------------------------------------------------------------------ */
/* Delivery                                                            */

#define NOGROUP 0xFFFF

static inline void b_qid(ml_buf_t *b, const msg_t *m)
{
	b_str(b, m->qid);
	b_str(b, ": ");
}

/* A delay as Postfix logs it: whole seconds from 10 s, one decimal from
 * 1 s, two below (trailing zeros dropped), "0" under 10 ms. */
static void b_delay(ml_buf_t *b, int64_t us)
{
	if (us < 0)
		us = 0;
	if (us >= SEC(10)) {
		b_u64(b, (uint64_t)(us / US_PER_S));
	} else if (us >= US_PER_S) {
		int64_t d = us / 100000;
		b_u64(b, (uint64_t)(d / 10));
		if (d % 10) {
			b_ch(b, '.');
			b_ch(b, (char)('0' + d % 10));
		}
	} else {
		int64_t c = us / 10000;
		if (c == 0) {
			b_ch(b, '0');
		} else {
			b_str(b, "0.");
			b_ch(b, (char)('0' + c / 10));
			if (c % 10)
				b_ch(b, (char)('0' + c % 10));
		}
	}
}

static void b_tls_out(ml_buf_t *b, rng_t *r)
{
	if (rng_chance(r, 0.8))
		b_str(b, "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature ");
	else {
		b_str(b, "TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)");
		return;
	}
	b_str(b, rng_chance(r, 0.6) ? "RSA-PSS (2048 bits)" : "ECDSA (P-256)");
	b_str(b, " server-digest SHA256");
}

static void b_remote_qid(ml_buf_t *b, rng_t *r)
{
	if (rng_chance(r, 0.3)) {
		b_rand_chars(b, r, "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxy", 10);
		b_ch(b, 'z');
		b_rand_chars(b, r, "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxy", 4);
	} else {
		b_rand_chars(b, r, "0123456789ABCDEF", 10 + rng_below(r, 2));
	}
}

/* The 250 reply of a remote server, by the kind of server it is. */
static void b_sent_reply(ml_buf_t *b, rng_t *r, const group_t *g, const msg_t *m, int64_t t, const char *mxname)
{
	static const char ALNUM[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	switch (g->d.style) {
	case 0:
		b_str(b, "250 2.0.0 Ok: queued as ");
		b_remote_qid(b, r);
		break;
	case 1:
		b_str(b, "250 2.0.0 OK  ");
		b_u64(b, (uint64_t)(t / US_PER_S));
		b_ch(b, ' ');
		b_rand_chars(b, r, ALNUM, 12);
		b_str(b, "si");
		b_u64(b, 1000000 + rng_below(r, 9000000));
		b_ch(b, '.');
		b_u64(b, rng_below(r, 500));
		b_str(b, " - smtp");
		break;
	case 2:
		b_str(b, "250 2.6.0 <");
		b_str(b, m->msgid);
		b_str(b, "> [InternalId=");
		b_u64(b, 10000000000000ULL + rng_next(r) % 90000000000000ULL);
		b_str(b, ", Hostname=");
		b_str(b, PICK(r, ((const char *const[]){ "AM0PR", "DB9PR", "VI1PR", "PA4PR", "FR3PR" })));
		b_u0(b, rng_below(r, 100), 2);
		b_str(b, "MB");
		b_u0(b, rng_below(r, 10000), 4);
		b_str(b, ".eurprd");
		b_u0(b, rng_below(r, 10), 2);
		b_str(b, ".prod.exchangelabs.example] ");
		(void)mxname;
		b_u64(b, m->size + 800 + rng_below(r, 2000));
		b_str(b, " bytes in ");
		b_u64(b, rng_below(r, 2));
		b_ch(b, '.');
		b_u0(b, rng_below(r, 1000), 3);
		b_str(b, ", ");
		b_u64(b, 20 + rng_below(r, 900));
		b_ch(b, '.');
		b_u0(b, rng_below(r, 1000), 3);
		b_str(b, " KB/sec Queued mail for delivery");
		break;
	case 3:
		b_str(b, "250 OK id=1");
		b_rand_chars(b, r, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 5);
		b_ch(b, '-');
		b_rand_chars(b, r, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 6);
		b_ch(b, '-');
		b_rand_chars(b, r, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 2);
		break;
	default:
		b_str(b, "250 2.0.0 ");
		b_rand_chars(b, r, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 14);
		b_str(b, " Message accepted for delivery");
		break;
	}
}

static void b_localpart_of(ml_buf_t *b, const char *addr)
{
	const char *at = strchr(addr, '@');
	b_mem(b, addr, at ? (size_t)(at - addr) : strlen(addr));
}

static const char *domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');
	return at ? at + 1 : "";
}

static ml_buf_t RELAY, REASON, MXN, MXIP, MX2N, MX2IP;

/* One delivery attempt of group gi in the pass that starts at T; returns the
 * time of its last line. */
static int64_t deliver_group(msg_t *m, int gi, int64_t T)
{
	host_t *h = &G.hosts[m->host];
	group_t *g = &m->g[gi];
	rng_t *r = &m->rng;
	int result;  /* 0 deferred, 1 sent, 2 bounced */
	if (g->outcome == O_EXPIRE || m->pass < g->ndefer)
		result = 0;
	else
		result = g->outcome == O_BOUNCE ? 2 : 1;

	int64_t a = T - m->t_arrive;
	int64_t b = rng_chance(r, 0.85) ? rng_range(r, 0, MS(15)) : rng_range(r, MS(15), MS(1500));
	int64_t c = 0, d = 0;
	int64_t ts = T + b;
	const char *dsn = "2.0.0";
	int prog;
	uint32_t pid;
	RELAY.len = REASON.len = 0;
	int first_rcpt = -1;
	for (int i = 0; i < m->nr; i++)
		if (m->r[i].group == gi) {
			first_rcpt = i;
			break;
		}
	if (first_rcpt < 0) {
		g->done = 1;
		return T;
	}
	const char *to0 = m->r[first_rcpt].to;

	if (g->trans == T_SMTP) {
		prog = P_SMTP;
		unsigned k = 0;
		int v6 = g->d.v6 && rng_chance(r, 0.5);
		MXN.len = MXIP.len = 0;
		b_mx_name(&MXN, &g->d, k);
		b_ch(&MXN, 0);
		MXN.len--;
		b_mx_ip(&MXIP, &g->d, k, v6);
		b_ch(&MXIP, 0);
		MXIP.len--;
		int connected = 1;
		int64_t pre_t = 0;
		if (result == 0) {
			int reason = g->outcome == O_EXPIRE ? (g->d.style == 0 ? DR_TIMEOUT : g->d.style == 1 ? DR_DNS : DR_REFUSED) : g->dreason;
			switch (reason) {
			case DR_GREYLIST:
				c = rng_range(r, MS(60), MS(700));
				d = rng_range(r, MS(20), MS(200));
				dsn = g->d.style % 2 ? "4.2.0" : "4.7.1";
				b_str(&REASON, "host ");
				b_mem(&REASON, MXN.data, MXN.len);
				b_ch(&REASON, '[');
				b_mem(&REASON, MXIP.data, MXIP.len);
				b_str(&REASON, "] said: ");
				switch (g->d.idx % 3) {
				case 0:
					b_str(&REASON, "451 4.7.1 Greylisted, please try again later");
					dsn = "4.7.1";
					break;
				case 1:
					b_str(&REASON, "450 4.2.0 <");
					b_str(&REASON, to0);
					b_str(&REASON, ">: Recipient address rejected: Greylisted, see https://greylist.example/help/");
					b_str(&REASON, g->dname);
					b_str(&REASON, ".html");
					dsn = "4.2.0";
					break;
				default:
					b_str(&REASON, "450 4.7.1 <");
					b_str(&REASON, to0);
					b_str(&REASON, ">: Recipient address rejected: Greylisted for 300 seconds");
					dsn = "4.7.1";
					break;
				}
				b_str(&REASON, " (in reply to RCPT TO command)");
				break;
			case DR_TIMEOUT:
				connected = 0;
				c = SEC(30) + rng_range(r, 0, MS(40));
				dsn = "4.4.1";
				if (rng_chance(r, 0.5)) {
					/* the first exchanger timed out too */
					MX2N.len = MX2IP.len = 0;
					b_mx_name(&MX2N, &g->d, 1);
					b_ch(&MX2N, 0);
					b_mx_ip(&MX2IP, &g->d, 1, 0);
					b_ch(&MX2IP, 0);
					pre_t = ts + c;
					c += SEC(30) + rng_range(r, 0, MS(40));
				}
				b_str(&REASON, "connect to ");
				if (pre_t) {
					b_str(&REASON, MX2N.data);
					b_ch(&REASON, '[');
					b_str(&REASON, MX2IP.data);
				} else {
					b_mem(&REASON, MXN.data, MXN.len);
					b_ch(&REASON, '[');
					b_mem(&REASON, MXIP.data, MXIP.len);
				}
				b_str(&REASON, "]:25: Connection timed out");
				break;
			case DR_REFUSED:
				connected = 0;
				c = rng_range(r, MS(5), MS(300));
				dsn = "4.4.1";
				b_str(&REASON, "connect to ");
				b_mem(&REASON, MXN.data, MXN.len);
				b_ch(&REASON, '[');
				b_mem(&REASON, MXIP.data, MXIP.len);
				b_str(&REASON, "]:25: Connection refused");
				break;
			case DR_DNS:
				connected = 0;
				c = rng_range(r, MS(200), SEC(10));
				dsn = "4.4.3";
				b_str(&REASON, "Host or domain name not found. Name service error for name=");
				b_str(&REASON, g->dname);
				b_str(&REASON, " type=MX: Host not found, try again");
				break;
			case DR_RATE:
				c = rng_range(r, MS(100), MS(900));
				dsn = "4.7.0";
				b_str(&REASON, "host ");
				b_mem(&REASON, MXN.data, MXN.len);
				b_ch(&REASON, '[');
				b_mem(&REASON, MXIP.data, MXIP.len);
				b_str(&REASON, "] said: 421 4.7.0 Try again later, closing connection. (in reply to MAIL FROM command)");
				break;
			case DR_MBOXFULL:
				c = rng_range(r, MS(100), MS(900));
				d = rng_range(r, MS(20), MS(200));
				dsn = "4.2.2";
				b_str(&REASON, "host ");
				b_mem(&REASON, MXN.data, MXN.len);
				b_ch(&REASON, '[');
				b_mem(&REASON, MXIP.data, MXIP.len);
				b_str(&REASON, "] said: 452 4.2.2 <");
				b_str(&REASON, to0);
				b_str(&REASON, ">: Mailbox full, try again later (in reply to RCPT TO command)");
				break;
			default:
				c = rng_range(r, MS(300), SEC(5));
				dsn = "4.4.2";
				b_str(&REASON, "lost connection with ");
				b_mem(&REASON, MXN.data, MXN.len);
				b_ch(&REASON, '[');
				b_mem(&REASON, MXIP.data, MXIP.len);
				b_str(&REASON, "] while receiving the initial server greeting");
				break;
			}
		} else if (result == 2) {
			if (g->breason == BR_NXDOMAIN) {
				connected = 0;
				c = rng_range(r, MS(20), MS(800));
				dsn = "5.4.4";
				b_str(&REASON, "Host or domain name not found. Name service error for name=");
				b_str(&REASON, g->dname);
				b_str(&REASON, rng_chance(r, 0.5) ? " type=AAAA: Host not found" : " type=A: Host not found");
			} else {
				c = rng_range(r, MS(80), MS(900));
				d = rng_range(r, MS(20), MS(300));
				b_str(&REASON, "host ");
				b_mem(&REASON, MXN.data, MXN.len);
				b_ch(&REASON, '[');
				b_mem(&REASON, MXIP.data, MXIP.len);
				b_str(&REASON, "] said: ");
				if (g->breason == BR_SPAM) {
					d += rng_range(r, MS(200), SEC(3));
					dsn = "5.7.1";
					b_str(&REASON, "550 5.7.1 Message rejected as spam by Content Filtering. (in reply to end of DATA command)");
				} else if (g->breason == BR_FULL) {
					dsn = "5.2.2";
					b_str(&REASON, "552 5.2.2 <");
					b_str(&REASON, to0);
					b_str(&REASON, ">: Mailbox full (in reply to RCPT TO command)");
				} else {
					dsn = "5.1.1";
					switch (g->d.style) {
					case 1:
						b_str(&REASON, "550 5.1.1 <");
						b_str(&REASON, to0);
						b_str(&REASON, ">: The email account that you tried to reach does not exist. Please check the address for typos.");
						break;
					case 2:
						dsn = "5.4.1";
						b_str(&REASON, "550 5.4.1 Recipient address rejected: Access denied.");
						break;
					case 3:
						dsn = "5.0.0";
						b_str(&REASON, "550 Unrouteable address");
						break;
					default:
						b_str(&REASON, "550 5.1.1 <");
						b_str(&REASON, to0);
						b_str(&REASON, ">: Recipient address rejected: User unknown in ");
						b_str(&REASON, g->d.idx % 2 ? "virtual mailbox table" : "local recipient table");
						break;
					}
					b_str(&REASON, " (in reply to RCPT TO command)");
				}
			}
		} else {
			c = (int64_t)rng_lognorm(r, 250000, 0.7);
			d = (int64_t)rng_lognorm(r, 150000, 0.6) + (int64_t)(m->size / 4);  /* ~4 MB/s */
		}
		if (connected) {
			b_mem(&RELAY, MXN.data, MXN.len);
			b_ch(&RELAY, '[');
			b_mem(&RELAY, MXIP.data, MXIP.len);
			b_str(&RELAY, "]:25");
		} else {
			b_str(&RELAY, "none");
		}
		pid = proc_get(h, prog, ts, c + d);
		if (pre_t) {
			ml_buf_t *L = line(m->host, prog, pid, pre_t);
			b_str(L, "connect to ");
			b_mem(L, MXN.data, MXN.len);
			b_ch(L, '[');
			b_mem(L, MXIP.data, MXIP.len);
			b_str(L, "]:25: Connection timed out");
		}
		if (connected && g->tls && h->tls_log && (result != 0 || g->dreason != DR_LOST)) {
			ml_buf_t *L = line(m->host, prog, pid, ts + c * 9 / 10);
			b_str(L, g->d.cls == DC_FREEMAIL ? "Trusted" : (g->d.idx % 5 == 0 ? "Verified" : "Untrusted"));
			b_str(L, " TLS connection established to ");
			b_mem(L, MXN.data, MXN.len);
			b_ch(L, '[');
			b_mem(L, MXIP.data, MXIP.len);
			b_str(L, "]:25: ");
			b_tls_out(L, r);
		}
		if (result == 1)
			b_sent_reply(&REASON, r, g, m, ts + c + d, MXN.data);
	} else if (g->trans == T_MAILBOX) {
		const char *ldom = domain_of(to0);
		if (h->ltrans == LT_VIRTUAL) {
			prog = P_VIRTUAL;
			b_str(&RELAY, "virtual");
			d = rng_range(r, MS(1), MS(60)) + (int64_t)(m->size / 50);
			if (result == 1) {
				b_str(&REASON, "delivered to maildir");
			} else if (result == 0) {
				dsn = "4.2.0";
				b_str(&REASON, "maildir delivery failed: create maildir file /var/mail/vhosts/");
				b_str(&REASON, ldom);
				b_ch(&REASON, '/');
				b_localpart_of(&REASON, to0);
				b_str(&REASON, "/tmp/");
				b_u64(&REASON, (uint64_t)(ts / US_PER_S));
				b_str(&REASON, ".P");
				b_u64(&REASON, h->next_pid);
				b_str(&REASON, "Q0M");
				b_u0(&REASON, (uint64_t)(ts % US_PER_S), 6);
				b_ch(&REASON, '.');
				b_str(&REASON, h->name);
				b_str(&REASON, ": Resource temporarily unavailable");
			} else {
				dsn = "5.2.2";
				b_str(&REASON, "cannot update mailbox /var/mail/vhosts/");
				b_str(&REASON, ldom);
				b_ch(&REASON, '/');
				b_localpart_of(&REASON, to0);
				b_str(&REASON, "/ for user ");
				b_str(&REASON, to0);
				b_str(&REASON, ". Disk quota exceeded");
			}
		} else {
			prog = P_LMTP;
			if (h->ltrans == LT_LMTP_UNIX) {
				b_str(&RELAY, h->fqdn);
				b_str(&RELAY, "[private/dovecot-lmtp]");
				c = rng_range(r, 0, MS(8));
			} else {
				b_str(&RELAY, "mailstore.");
				b_str(&RELAY, G.o.local_domains[0]);
				b_str(&RELAY, "[192.0.2.40]:24");
				c = rng_range(r, MS(1), MS(25));
			}
			d = (int64_t)rng_lognorm(r, 40000, 0.8) + (int64_t)(m->size / 20);
			if (result == 1) {
				static const char ID[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
				b_str(&REASON, "250 2.0.0 <");
				b_str(&REASON, to0);
				b_str(&REASON, "> ");
				b_rand_chars(&REASON, r, ID, 22);
				b_str(&REASON, " Saved");
			} else {
				b_str(&REASON, "host ");
				b_mem(&REASON, RELAY.data, RELAY.len);
				if (h->ltrans == LT_LMTP_TCP)
					REASON.len -= 3;  /* no port in "host NAME[IP] said" */
				if (result == 0) {
					dsn = "4.3.0";
					b_str(&REASON, " said: 451 4.3.0 <");
					b_str(&REASON, to0);
					b_str(&REASON, "> Temporary internal error (in reply to end of DATA command)");
				} else {
					dsn = "5.2.2";
					b_str(&REASON, " said: 552 5.2.2 <");
					b_str(&REASON, to0);
					b_str(&REASON, "> Quota exceeded (mailbox for user is full) (in reply to end of DATA command)");
				}
			}
		}
		pid = proc_get(h, prog, ts, c + d);
	} else {
		prog = P_LOCAL;
		b_str(&RELAY, "local");
		d = rng_range(r, MS(1), MS(40));
		b_str(&REASON, "delivered to mailbox");
		pid = proc_get(h, prog, ts, d);
	}

	int64_t tl = ts + c + d;
	if (result == 2 && dsn[0] == '2')
		dsn = "5.0.0";
	const char *status = result == 1 ? "sent" : result == 0 ? "deferred" : "bounced";
	int st = result == 1 ? ST_DELIVERED : result == 0 ? ST_DELAYED : ST_BOUNCED;
	int64_t t = tl;
	for (int i = first_rcpt; i < m->nr; i++) {
		rcpt_t *rc = &m->r[i];
		if (rc->group != gi)
			continue;
		ml_buf_t *L = line(m->host, prog, pid, t);
		b_qid(L, m);
		b_str(L, "to=<");
		b_str(L, rc->to);
		b_str(L, ">, ");
		if (rc->orig[0]) {
			b_str(L, "orig_to=<");
			b_str(L, rc->orig);
			b_str(L, ">, ");
		}
		b_str(L, "relay=");
		b_mem(L, RELAY.data, RELAY.len);
		b_str(L, ", delay=");
		b_delay(L, t - m->t_arrive);
		b_str(L, ", delays=");
		b_delay(L, a);
		b_ch(L, '/');
		b_delay(L, b);
		b_ch(L, '/');
		b_delay(L, c);
		b_ch(L, '/');
		b_delay(L, d);
		b_str(L, ", dsn=");
		b_str(L, dsn);
		b_str(L, ", status=");
		b_str(L, status);
		b_str(L, " (");
		if (g->trans == T_MAILBOX && result == 1 && h->ltrans != LT_VIRTUAL && i != first_rcpt) {
			/* each LMTP recipient has its own reply */
			static const char ID[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
			b_str(L, "250 2.0.0 <");
			b_str(L, rc->to);
			b_str(L, "> ");
			b_rand_chars(L, r, ID, 22);
			b_str(L, " Saved");
		} else {
			b_mem(L, REASON.data, REASON.len);
		}
		b_ch(L, ')');
		set_status(m, i, st, t);
		t += rng_range(r, 5, 400);
	}
	if (result != 0)
		g->done = 1;
	return t;
}

static int64_t msg_pass(msg_t *m, int64_t T, int qmgr_line);

/* The notice Postfix sends to the sender of m (non-delivery, or delay when
 * delay != 0): a new message from <> with its own queue ID, delivered at
 * once.  Returns the time of the bounce daemon's line. */
static int64_t ndr_make(msg_t *m, int64_t t, int delay)
{
	host_t *h = &G.hosts[m->host];
	rng_t *r = &m->rng;
	msg_t *n = msg_new(1);
	n->kind = MK_NDR;
	n->host = m->host;
	n->bounce_kind = delay;
	rng_seed(&n->rng, rng_next(r));
	n->inode = inode_alloc(h);
	qid_make(h, t, n->inode, n->qid);
	n->t_arrive = n->t_first = t;
	ml_buf_t b = ML_BUF_INIT;
	b_msgid(&b, r, MID_POSTFIX, "", t, n->qid, h->fqdn);
	bcopy_to(n->msgid, sizeof n->msgid, &b);
	ml_buf_free(&b);
	n->size = 2400 + rng_below(r, 1500) + (delay ? 0 : ML_MIN(m->size, 50000));
	int gi;
	if (m->sender_local) {
		gi = group_for(n, T_MAILBOX, NULL);
	} else {
		gi = group_for(n, T_SMTP, &m->sdom);
		n->g[gi].tls = rng_chance(r, 0.8);
	}
	add_rcpt(n, m->from, NULL, gi);

	uint32_t cpid = proc_get(h, P_CLEANUP, t, MS(3));
	ml_buf_t *L = line(n->host, P_CLEANUP, cpid, t);
	b_qid(L, n);
	b_str(L, "message-id=<");
	b_str(L, n->msgid);
	b_ch(L, '>');
	int64_t tb = t + rng_range(r, 200, 2500);
	L = line(n->host, P_BOUNCE, proc_get(h, P_BOUNCE, tb, MS(5)), tb);
	b_qid(L, m);
	b_str(L, delay ? "sender delay notification: " : "sender non-delivery notification: ");
	b_str(L, n->qid);
	int64_t tq = tb + rng_range(r, 300, 4000);
	L = line(n->host, P_QMGR, h->pid_qmgr, tq);
	b_qid(L, n);
	b_str(L, "from=<>, size=");
	b_u64(L, n->size);
	b_str(L, ", nrcpt=1 (queue active)");
	set_all(n, ST_QUEUED, t);
	msg_pass(n, tq + rng_range(r, 100, 3000), 0);
	truth_msg(n);
	free(n);
	G.n_ndr++;
	return tb;
}

static int msg_has_expiring(const msg_t *m)
{
	for (int i = 0; i < m->ng; i++)
		if (!m->g[i].done && m->g[i].outcome == O_EXPIRE)
			return 1;
	return 0;
}

static void msg_removed(msg_t *m, int64_t t)
{
	host_t *h = &G.hosts[m->host];
	ml_buf_t *L = line(m->host, P_QMGR, h->pid_qmgr, t);
	b_qid(L, m);
	b_str(L, "removed");
	rel_push(h, t, m->inode);
}

/* One delivery pass starting at T (qmgr moved the message to the active
 * queue).  Returns the time of the next pass, or 0 when the message is
 * gone. */
static int64_t msg_pass(msg_t *m, int64_t T, int qmgr_line)
{
	host_t *h = &G.hosts[m->host];
	rng_t *r = &m->rng;
	if (qmgr_line) {
		ml_buf_t *L = line(m->host, P_QMGR, h->pid_qmgr, T);
		b_qid(L, m);
		b_str(L, "from=<");
		b_str(L, m->from);
		b_str(L, ">, size=");
		b_u64(L, m->size);
		b_str(L, ", nrcpt=");
		int n = 0;
		for (int i = 0; i < m->nr; i++)
			n += m->r[i].group != NOGROUP && !m->g[m->r[i].group].done;
		b_u64(L, (uint64_t)n);
		b_str(L, " (queue active)");
	}
	int64_t t_end = T;
	int bounced = 0, pending = 0;
	for (int gi = 0; gi < m->ng; gi++) {
		group_t *g = &m->g[gi];
		if (g->done)
			continue;
		int64_t te = deliver_group(m, gi, T + rng_range(r, 50, 900));
		if (te > t_end)
			t_end = te;
		if (g->done && g->outcome == O_BOUNCE)
			bounced = 1;
		if (!g->done)
			pending = 1;
	}
	m->pass++;
	int64_t t = t_end + rng_range(r, 100, 3000);
	int expire = pending && t_end - m->t_arrive >= G.lifetime_us;
	if (expire) {
		ml_buf_t *L = line(m->host, P_QMGR, h->pid_qmgr, t);
		b_qid(L, m);
		b_str(L, "from=<");
		b_str(L, m->from);
		b_str(L, ">, status=expired, returned to sender");
		for (int gi = 0; gi < m->ng; gi++) {
			if (m->g[gi].done)
				continue;
			m->g[gi].done = 1;
			for (int i = 0; i < m->nr; i++)
				if (m->r[i].group == gi)
					set_status(m, i, ST_EXPIRED, t);
		}
		bounced = 1;
		t += rng_range(r, 100, 1500);
	}
	if (bounced && m->from[0]) {
		t = ndr_make(m, t, 0) + rng_range(r, 100, 2000);
	} else if (pending && !m->warned && m->from[0] && msg_has_expiring(m) &&
		   G.warn_us < G.lifetime_us && t_end - m->t_arrive >= G.warn_us) {
		t = ndr_make(m, t, 1) + rng_range(r, 100, 2000);
		m->warned = 1;
	}
	if (!pending || expire) {
		msg_removed(m, t);
		return 0;
	}
	/* Postfix's backoff: the age of the message, between minimal and
	 * maximal_backoff_time, then the next queue scan. */
	int64_t age = t_end - m->t_arrive;
	int64_t backoff = age < SEC(300) ? SEC(300) : age > SEC(4000) ? SEC(4000) : age;
	return t_end + backoff + rng_range(r, 0, SEC(300));
}

/* After the first pass: wait for the next one, or done. */
static void msg_continue(msg_t *m, int64_t next)
{
	if (next == 0 || next > G.cutoff_us) {
		truth_msg(m);
		free(m);
		return;
	}
	ev_t e = { next, 0, m, 0, 0, 0, (uint8_t)m->host, 0, 1 };
	heap_push(&e);
}

/* ------------------------------------------------------------------ */
/* Arrival of a message                                                */

typedef struct {
	int prog;          /* P_SMTPD or P_SUBMISSION */
	int tls, auth, bdat, quit;
	const char *sasl_method;
	char sasl_user[100];
	int nrej;          /* recipients rejected in the session */
} sess_t;

enum { F_NORMAL, F_HOLD, F_MILTER };

static void b_client(ml_buf_t *b, const char *name, const char *ip)
{
	b_str(b, name);
	b_ch(b, '[');
	b_str(b, ip);
	b_ch(b, ']');
}

static void b_ipport(ml_buf_t *b, const char *ip, unsigned port)
{
	b_ch(b, '[');
	b_str(b, ip);
	b_str(b, "]:");
	b_u64(b, port);
}

/* postscreen in front of smtpd: returns when smtpd gets the connection. */
static int64_t postscreen_pass(int host, rng_t *r, const char *ip, int64_t t)
{
	host_t *h = &G.hosts[host];
	unsigned port = 1024 + rng_below(r, 64000);
	ml_buf_t *L = line(host, P_POSTSCREEN, h->pid_postscreen, t);
	b_str(L, "CONNECT from ");
	b_ipport(L, ip, port);
	b_str(L, " to [");
	b_str(L, h->ip);
	b_str(L, "]:25");
	if (rng_chance(r, 0.05)) {
		t += SEC(6) + rng_range(r, 0, MS(300));
		L = line(host, P_POSTSCREEN, h->pid_postscreen, t);
		b_str(L, "PASS NEW ");
	} else {
		t += rng_range(r, MS(1), MS(250));
		L = line(host, P_POSTSCREEN, h->pid_postscreen, t);
		b_str(L, "PASS OLD ");
	}
	b_ipport(L, ip, port);
	return t + rng_range(r, 300, 3000);
}

static void b_tls_in(ml_buf_t *b, rng_t *r)
{
	if (rng_chance(r, 0.85))
		b_str(b, "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256");
	else
		b_str(b, "TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)");
}

static void b_disconnect(ml_buf_t *b, const msg_t *m, const sess_t *s, int nrcpt_ok, int data_ok)
{
	int ok = 0, all = 0;
	b_str(b, "disconnect from ");
	b_client(b, m->cname, m->cip);
	b_str(b, " ehlo=");
	b_str(b, s->tls ? "2" : "1");
	ok += s->tls ? 2 : 1;
	all += s->tls ? 2 : 1;
	if (s->tls) {
		b_str(b, " starttls=1");
		ok++, all++;
	}
	if (s->auth) {
		b_str(b, " auth=1");
		ok++, all++;
	}
	b_str(b, " mail=1 rcpt=");
	ok += 1 + nrcpt_ok;
	all += 1 + nrcpt_ok + s->nrej;
	b_u64(b, (uint64_t)nrcpt_ok);
	if (s->nrej) {
		b_ch(b, '/');
		b_u64(b, (uint64_t)(nrcpt_ok + s->nrej));
	}
	b_str(b, s->bdat ? " bdat=" : " data=");
	b_str(b, data_ok ? "1" : "0/1");
	ok += data_ok;
	all++;
	if (s->quit) {
		b_str(b, " quit=1");
		ok++, all++;
	}
	b_str(b, " commands=");
	b_u64(b, (uint64_t)ok);
	if (ok != all) {
		b_ch(b, '/');
		b_u64(b, (uint64_t)all);
	}
}

/* " from=<> to=<> proto=ESMTP helo=<>": the envelope part of cleanup's
 * header and reject lines (to is the first recipient as the client gave
 * it). */
static void b_envelope(ml_buf_t *b, const msg_t *m, int local)
{
	b_str(b, " from=<");
	b_str(b, m->from);
	b_str(b, "> to=<");
	b_str(b, m->nr ? m->r[0].orig[0] ? m->r[0].orig : m->r[0].to : "");
	b_ch(b, '>');
	if (!local) {
		b_str(b, " proto=ESMTP helo=<");
		b_str(b, m->helo);
		b_ch(b, '>');
	}
}

/* " from NAME[IP]; from=<> to=<> ..." after a header_checks match. */
static void b_trailer(ml_buf_t *b, const msg_t *m, int local)
{
	if (local) {
		b_str(b, " from local;");
	} else {
		b_str(b, " from ");
		b_client(b, m->cname, m->cip);
		b_ch(b, ';');
	}
	b_envelope(b, m, local);
}

/* RCPT commands the client gave: recipients before alias expansion. */
static int envelope_rcpts(const msg_t *m)
{
	int n = 0;
	for (int i = 0; i < m->nr; i++) {
		if (m->r[i].group == NOGROUP)
			continue;
		int dup = 0;
		if (m->r[i].orig[0])
			for (int j = 0; j < i && !dup; j++)
				dup = m->r[j].group != NOGROUP && strcmp(m->r[j].orig, m->r[i].orig) == 0;
		n += !dup;
	}
	return n ? n : 1;
}

/* cleanup's lines: message-id and the header_checks line (INFO, or HOLD). */
static int64_t cleanup_lines(msg_t *m, rng_t *r, int64_t t, int fate, int local, uint32_t cpid)
{
	int subj_first = rng_chance(r, 0.3);
	for (int k = 0; k < 2; k++) {
		if ((k == 0) == !subj_first) {
			ml_buf_t *L = line(m->host, P_CLEANUP, cpid, t);
			b_qid(L, m);
			b_str(L, "message-id=<");
			b_str(L, m->msgid);
			b_ch(L, '>');
		} else if (m->subj_logged) {
			ml_buf_t *L = line(m->host, P_CLEANUP, cpid, t);
			b_qid(L, m);
			b_str(L, fate == F_HOLD ? "hold: header Subject: " : "info: header Subject: ");
			b_str(L, m->subj.log);
			b_trailer(L, m, local);
			if (fate == F_HOLD)
				b_str(L, ": spam suspected");
		}
		t += rng_range(r, 20, 900);
	}
	return t;
}

/* Held: later released (and delivered) or deleted by the administrator. */
static void held_later(msg_t *m, int64_t t_hold)
{
	host_t *h = &G.hosts[m->host];
	rng_t *r = &m->rng;
	set_all(m, ST_QUARANTINED, t_hold);
	int64_t t = t_hold + SEC(300) + (int64_t)rng_exp(r, 3.0 * 3600 * US_PER_S);
	double u = rng_unit(r);
	uint32_t pid = new_pid(h);
	if (u < 0.55) {
		ml_buf_t *L = line(m->host, P_POSTSUPER, pid, t);
		b_qid(L, m);
		b_str(L, "released from hold");
		L = line(m->host, P_POSTSUPER, pid, t + rng_range(r, 100, 2000));
		b_str(L, "Released from hold: 1 message");
		set_all(m, ST_QUEUED, t);
		int64_t T = t + rng_range(r, SEC(1), SEC(300));
		msg_continue(m, msg_pass(m, T, 1));
		return;
	}
	if (u < 0.92) {
		ml_buf_t *L = line(m->host, P_POSTSUPER, pid, t);
		b_qid(L, m);
		b_str(L, "removed");
		L = line(m->host, P_POSTSUPER, pid, t + rng_range(r, 100, 2000));
		b_str(L, "Deleted: 1 message");
		rel_push(h, t, m->inode);
	}
	truth_msg(m);
	free(m);
}

/* An SMTP session that hands over message m (recipients, sender, client
 * set); plans everything up to the first delivery pass. */
static void smtp_intake(msg_t *m, sess_t *s, int64_t t, int postscreen, int fate)
{
	host_t *h = &G.hosts[m->host];
	rng_t *r = &m->rng;
	if (postscreen)
		t = postscreen_pass(m->host, r, m->cip, t);
	int64_t xfer = rng_range(r, MS(30), MS(400));
	xfer += (int64_t)(m->size / (1 + rng_below(r, 8)));
	uint32_t spid = proc_get(h, s->prog, t, xfer + SEC(3));
	ml_buf_t *L = line(m->host, s->prog, spid, t);
	b_str(L, "connect from ");
	b_client(L, m->cname, m->cip);
	if (s->tls && h->tls_log) {
		t += rng_range(r, MS(15), MS(180));
		L = line(m->host, s->prog, spid, t);
		b_str(L, "Anonymous TLS connection established from ");
		b_client(L, m->cname, m->cip);
		b_str(L, ": ");
		b_tls_in(L, r);
	}
	t += rng_range(r, MS(20), MS(600));
	m->inode = inode_alloc(h);
	qid_make(h, t, m->inode, m->qid);
	m->t_arrive = m->t_first = t;
	L = line(m->host, s->prog, spid, t);
	b_qid(L, m);
	b_str(L, "client=");
	b_client(L, m->cname, m->cip);
	if (s->auth) {
		b_str(L, ", sasl_method=");
		b_str(L, s->sasl_method);
		b_str(L, ", sasl_username=");
		b_str(L, s->sasl_user);
	}
	set_all(m, ST_QUEUED, t);
	/* a recipient refused after the queue file exists */
	for (int i = 0; i < m->nr; i++) {
		if (m->r[i].group != NOGROUP)
			continue;
		t += rng_range(r, MS(5), MS(120));
		L = line(m->host, s->prog, spid, t);
		b_qid(L, m);
		b_str(L, "reject: RCPT from ");
		b_client(L, m->cname, m->cip);
		b_str(L, ": 550 5.1.1 <");
		b_str(L, m->r[i].to);
		b_str(L, ">: Recipient address rejected: User unknown in virtual mailbox table; from=<");
		b_str(L, m->from);
		b_str(L, "> to=<");
		b_str(L, m->r[i].to);
		b_str(L, "> proto=ESMTP helo=<");
		b_str(L, m->helo);
		b_ch(L, '>');
		set_status(m, i, ST_BLOCKED, t);
	}
	t += xfer;
	uint32_t cpid = proc_get(h, P_CLEANUP, t, MS(50));
	t = cleanup_lines(m, r, t, fate, 0, cpid);
	int nok = envelope_rcpts(m);
	if (fate == F_MILTER) {
		t += rng_range(r, MS(200), SEC(4));
		L = line(m->host, P_CLEANUP, cpid, t);
		b_qid(L, m);
		b_str(L, "milter-reject: END-OF-MESSAGE from ");
		b_client(L, m->cname, m->cip);
		b_str(L, ": 5.7.1 Spam message rejected;");
		b_envelope(L, m, 0);
		set_all(m, ST_BLOCKED, t);
		rel_push(h, t, m->inode);
		L = line(m->host, s->prog, spid, t + rng_range(r, MS(2), MS(80)));
		b_disconnect(L, m, s, nok, 0);
		truth_msg(m);
		free(m);
		return;
	}
	int64_t tq = t + rng_range(r, MS(1), MS(25));
	L = line(m->host, s->prog, spid, t + rng_range(r, MS(3), MS(90)));
	b_disconnect(L, m, s, nok, 1);
	if (fate == F_HOLD) {
		held_later(m, t);
		return;
	}
	msg_continue(m, msg_pass(m, tq, 1));
}

static double P_DEAD;      /* share of outbound recipients at dead domains */

static int pick_host(rng_t *r)
{
	double u = rng_unit(r), sum = 0;
	for (int i = 0; i < G.nhosts; i++)
		sum += G.hosts[i].weight;
	u *= sum;
	for (int i = 0; i < G.nhosts; i++) {
		if (u < G.hosts[i].weight)
			return i;
		u -= G.hosts[i].weight;
	}
	return G.nhosts - 1;
}

/* Recipients of one message: most one, some 2-10, rare 50+. */
static int rcpt_count(rng_t *r, double p_one)
{
	double u = rng_unit(r);
	if (u < p_one)
		return 1;
	u -= p_one;
	double rest = 1 - p_one;
	if (u < rest * 0.955)
		return 2 + (int)rng_zipf(r, 9, 0.2);
	if (u < rest * 0.998)
		return 11 + (int)rng_zipf(r, 39, 2);
	return 50 + (int)rng_zipf(r, 150, 20);
}

static void copy_dest(msg_t *m, const rdom_t *d)
{
	m->sdom = *d;
	scopy(m->sdname, sizeof m->sdname, d->name, strlen(d->name));
	m->sdom.name = m->sdname;
}

/* A sender that spam would use; fills m->from and m->sdom. */
static void spam_sender(msg_t *m, rng_t *r)
{
	ml_buf_t b = ML_BUF_INIT;
	double u = rng_unit(r);
	if (u < 0.45) {
		const rdom_t *d = &G.rd[G.nbig + rng_below(r, G.nrd - G.nbig)];
		b_remote_addr(&b, r, d);
		copy_dest(m, d);
	} else if (u < 0.8) {
		static const char *const J[] = { "promo", "deals", "win", "bonus", "crypto", "pharma",
			"secure", "verify", "mail", "info", "alert", "update" };
		ml_buf_t dn = ML_BUF_INIT;
		b_str(&dn, PICK(r, J));
		b_rand_chars(&dn, r, "abcdefghijklmnopqrstuvwxyz0123456789", 3 + rng_below(r, 6));
		b_str(&dn, rng_chance(r, 0.5) ? ".test" : ".example");
		b_ch(&dn, 0);
		b_rand_chars(&b, r, "abcdefghijklmnopqrstuvwxyz", 4 + rng_below(r, 6));
		if (rng_chance(r, 0.4))
			b_u64(&b, rng_below(r, 999));
		b_ch(&b, '@');
		b_str(&b, dn.data);
		rdom_t d;
		dest_from_name(&d, m->sdname, sizeof m->sdname, dn.data);
		m->sdom = d;
		m->sdom.name = m->sdname;
		ml_buf_free(&dn);
	} else {
		/* forging one of our own domains */
		const char *ld = G.o.local_domains[rng_below(r, (uint32_t)G.o.nlocal)];
		b_str(&b, PICK(r, ((const char *const[]){ "admin", "support", "security", "noreply", "billing", "it-service" })));
		b_ch(&b, '@');
		b_str(&b, ld);
		rdom_t d;
		dest_from_name(&d, m->sdname, sizeof m->sdname, ld);
		m->sdom = d;
		m->sdom.name = m->sdname;
		m->sender_local = 1;
	}
	bcopy_to(m->from, sizeof m->from, &b);
	ml_buf_free(&b);
}

static void spam_helo(msg_t *m, rng_t *r)
{
	switch (rng_below(r, 5)) {
	case 0: scopy(m->helo, sizeof m->helo, "User", 4); break;
	case 1: snprintf(m->helo, sizeof m->helo, "[%s]", m->cip); break;
	case 2: snprintf(m->helo, sizeof m->helo, "%s", domain_of(m->from)); break;
	case 3: snprintf(m->helo, sizeof m->helo, "%s", strcmp(m->cname, "unknown") ? m->cname : "localhost"); break;
	default: rng_name(r, m->helo, sizeof m->helo, "WIN-", "A0AA0A0"); break;
	}
}

/* The outcome of a new delivery group to a remote domain. */
static void plan_remote_group(group_t *g, rng_t *r)
{
	g->tls = g->d.cls == DC_FREEMAIL || rng_chance(r, 0.8);
	if (g->d.cls == DC_DEAD) {
		g->outcome = O_EXPIRE;
		return;
	}
	if (g->d.cls == DC_NXDOMAIN) {
		g->outcome = O_BOUNCE;
		g->breason = BR_NXDOMAIN;
		return;
	}
	double u = rng_unit(r);
	if (u < 0.045) {
		g->outcome = O_BOUNCE;
		static const double W[] = { 75, 15, 10 };
		static const uint8_t BR[] = { BR_UNKNOWN, BR_SPAM, BR_FULL };
		g->breason = BR[rng_pick(r, W, 3)];
		return;
	}
	g->outcome = O_SENT;
	if (g->d.greylist && rng_chance(r, 0.55)) {
		g->ndefer = 1;
		g->dreason = DR_GREYLIST;
	} else if (rng_chance(r, 0.085)) {
		static const double W[] = { 25, 10, 15, 8, 8, 14, 20 };
		static const uint8_t DR[] = { DR_TIMEOUT, DR_REFUSED, DR_RATE, DR_MBOXFULL, DR_DNS, DR_LOST, DR_GREYLIST };
		g->dreason = DR[rng_pick(r, W, 7)];
		g->ndefer = (uint8_t)(1 + (rng_chance(r, 0.3) ? 1 + rng_below(r, 3) : 0));
	}
}

/* A remote recipient of outbound mail: usually a popular domain, sometimes
 * a domain that does not answer (the mail expires) or a typo (bounces). */
static int add_remote_rcpt(msg_t *m, rng_t *r)
{
	ml_buf_t b = ML_BUF_INIT;
	rdom_t typo;
	char tname[72];
	const rdom_t *d;
	double u = rng_unit(r);
	if (u < P_DEAD) {
		d = &G.dead[rng_zipf(r, G.ndead, 2)];
	} else if (u < P_DEAD + 0.004) {
		ml_buf_t dn = ML_BUF_INIT;
		const char *big = G.rd[rng_below(r, 6)].name;
		if (rng_chance(r, 0.7)) {
			/* two letters swapped */
			size_t n = strlen(big), k = 1 + rng_below(r, (uint32_t)(strchr(big, '.') - big - 2));
			b_str(&dn, big);
			char c = dn.data[k];
			dn.data[k] = dn.data[k + 1];
			dn.data[k + 1] = c;
			(void)n;
		} else {
			b_str(&dn, PICK(r, DOMWORD));
			b_str(&dn, PICK(r, INDUSTRY));
			b_str(&dn, ".invalid");
		}
		b_ch(&dn, 0);
		dest_from_name(&typo, tname, sizeof tname, dn.data);
		typo.cls = DC_NXDOMAIN;
		d = &typo;
		ml_buf_free(&dn);
	} else {
		d = pick_rdom(r);
	}
	b_remote_addr(&b, r, d);
	b_ch(&b, 0);
	int added = 0;
	if (!has_rcpt(m, b.data)) {
		int ng = m->ng;
		int gi = group_for(m, T_SMTP, d);
		if (m->ng > ng)
			plan_remote_group(&m->g[gi], r);
		add_rcpt(m, b.data, NULL, gi);
		added = 1;
	}
	ml_buf_free(&b);
	return added;
}

static void plan_local_group(msg_t *m, int gi, rng_t *r)
{
	group_t *g = &m->g[gi];
	double u = rng_unit(r);
	if (u < 0.009) {
		g->outcome = O_BOUNCE;
		g->breason = BR_LOCAL_QUOTA;
	} else if (u < 0.021) {
		g->ndefer = 1;
		g->dreason = DR_LOCAL;
	}
}

/* A local recipient (own delivery group); role aliases expand. */
static void add_local_rcpt(msg_t *m, rng_t *r, int allow_role)
{
	if (allow_role && rng_chance(r, 0.08)) {
		const luser_t *a = &G.lu[G.roles[rng_zipf(r, G.nroles, 3)]];
		for (int k = 0; k < a->nmem; k++) {
			const char *to = G.lu[a->mem[k]].addr;
			if (has_rcpt(m, to) || m->nr >= m->cap)
				continue;
			group_t *g = &m->g[m->ng];
			memset(g, 0, sizeof *g);
			g->trans = T_MAILBOX;
			plan_local_group(m, m->ng, r);
			add_rcpt(m, to, a->addr, m->ng++);
		}
		return;
	}
	const char *to = G.lu[pick_luser(r)].addr;
	if (has_rcpt(m, to) || m->nr >= m->cap)
		return;
	group_t *g = &m->g[m->ng];
	memset(g, 0, sizeof *g);
	g->trans = T_MAILBOX;
	plan_local_group(m, m->ng, r);
	add_rcpt(m, to, NULL, m->ng++);
}

static void size_of(msg_t *m, rng_t *r, double median, double sigma)
{
	double s = rng_lognorm(r, median, sigma);
	if (rng_chance(r, 0.06))
		s += rng_lognorm(r, 900000, 1.0);  /* an attachment */
	if (s < 600)
		s = 600 + rng_below(r, 400);
	if (s > 30e6)
		s = 30e6 - rng_below(r, 1000000);
	m->size = (uint64_t)s;
}

static void set_msgid(msg_t *m, rng_t *r, int style, const char *dom)
{
	ml_buf_t b = ML_BUF_INIT;
	b_msgid(&b, r, style, dom, m->t_arrive ? m->t_arrive : G.frontier, m->qid, G.hosts[m->host].fqdn);
	bcopy_to(m->msgid, sizeof m->msgid, &b);
	ml_buf_free(&b);
}

enum { IN_BUSINESS, IN_FREEMAIL, IN_NEWS, IN_NOTIFY, IN_SPAM, IN_BOUNCE };

static void plan_inbound(int64_t t)
{
	rng_t *gr = &G.rng;
	static const double W[] = { 38, 20, 17, 12, 8, 2 };
	int sub = rng_pick(gr, W, 6);
	int nr = sub <= IN_FREEMAIL ? rcpt_count(gr, sub == IN_BUSINESS ? 0.86 : 0.93)
		 : sub == IN_SPAM ? 1 + (rng_chance(gr, 0.2) ? (int)rng_below(gr, 4) : 0) : 1;
	msg_t *m = msg_new(nr * 4 + 2);
	rng_seed(&m->rng, rng_next(gr));
	rng_t *r = &m->rng;
	m->kind = MK_INBOUND;
	m->host = pick_host(r);
	ml_buf_t b = ML_BUF_INIT;
	const rdom_t *d = NULL;
	int mid = MID_UUID, sk = SK_BUSINESS;
	double med = 14000, sig = 1.2;
	switch (sub) {
	case IN_BUSINESS:
		d = &G.rd[G.nbig + rng_zipf(r, G.nrd - G.nbig, 5)];
		b_remote_addr(&b, r, d);
		static const double MW[] = { 35, 15, 25, 15, 10 };
		static const int MS_[] = { MID_UUID, MID_APPLE, MID_EXCHANGE, MID_HEX, MID_JAVA };
		mid = MS_[rng_pick(r, MW, 5)];
		break;
	case IN_FREEMAIL:
		d = &G.rd[rng_zipf(r, 6, 0.6)];
		b_remote_addr(&b, r, d);
		mid = MID_FREEMAIL;
		med = 9000;
		break;
	case IN_NEWS:
	case IN_NOTIFY: {
		d = &G.bulk[rng_zipf(r, G.nbulk, 3)];
		uint32_t rr = rng_zipf(r, G.nlu, 4);
		if (sub == IN_NEWS && rng_chance(r, 0.5)) {
			/* VERP return path */
			b_str(&b, "bounces+");
			b_u64(&b, 100000 + d->idx * 37 % 900000);
			b_ch(&b, '-');
			b_rand_chars(&b, r, "0123456789abcdef", 4);
			b_ch(&b, '-');
			const char *to = G.lu[rr].addr, *at = strchr(to, '@');
			b_mem(&b, to, (size_t)(at - to));
			b_ch(&b, '=');
			b_str(&b, at + 1);
		} else {
			static const char *const NEWS[] = { "newsletter", "news", "hello", "marketing", "info", "team" };
			static const char *const NOTE[] = { "noreply", "no-reply", "notifications", "billing", "alerts", "support", "do-not-reply" };
			b_str(&b, sub == IN_NEWS ? NEWS[d->idx % 6] : NOTE[d->idx % 7]);
		}
		b_ch(&b, '@');
		b_str(&b, d->name);
		mid = rng_chance(r, 0.6) ? MID_ESP : MID_HEX;
		sk = sub == IN_NEWS ? SK_NEWS : SK_NOTIFY;
		med = sub == IN_NEWS ? 45000 : 9000;
		sig = 0.5;
		break;
	}
	case IN_SPAM:
		spam_sender(m, r);
		mid = rng_chance(r, 0.2) ? MID_NONE : MID_SPAM;
		sk = SK_SPAM;
		med = 6000;
		sig = 0.8;
		break;
	default:
		d = &G.rd[rng_zipf(r, G.nrd, 3)];
		mid = MID_HEX;
		sk = SK_BOUNCE_IN;
		med = 7000;
		sig = 0.6;
		break;
	}
	if (sub != IN_SPAM) {
		bcopy_to(m->from, sizeof m->from, &b);
		copy_dest(m, d);
		remote_client(r, d, m->cname, sizeof m->cname, m->cip, sizeof m->cip);
		scopy(m->helo, sizeof m->helo, m->cname, strlen(m->cname));
	} else {
		dynamic_client(r, rng_chance(r, 0.4), m->cname, sizeof m->cname, m->cip, sizeof m->cip);
		spam_helo(m, r);
	}
	for (int k = 0; k < nr; k++)
		add_local_rcpt(m, r, sub <= IN_FREEMAIL);
	if (m->nr > 1 && sub == IN_BUSINESS && rng_chance(r, 0.03)) {
		/* one recipient refused at RCPT time, the rest accepted */
		b.len = 0;
		b_str(&b, PICK(r, FIRST));
		b_ch(&b, '.');
		b_str(&b, PICK(r, LAST));
		b_u64(&b, rng_below(r, 10));
		b_ch(&b, '@');
		b_str(&b, G.o.local_domains[0]);
		b_ch(&b, 0);
		add_rcpt(m, b.data, NULL, NOGROUP);
	}
	size_of(m, r, med, sig);
	if (d && d->cls == DC_BULK) {
		uint32_t bi = d->idx - 200000;
		CUR_BRAND = bi < ML_ARRAY_LEN(BRAND) ? BRAND[bi] : NULL;
	}
	subject_make(&m->subj, r, sk, t, G.hosts[m->host].name);
	CUR_BRAND = NULL;
	m->subj_logged = rng_chance(r, 0.97);
	set_msgid(m, r, mid, d ? (d->cls == DC_BULK ? d->name : d->name) : domain_of(m->from));
	if (mid == MID_NONE)
		m->msgid[0] = 0;
	ml_buf_free(&b);

	sess_t s = { P_SMTPD, 0, 0, 0, 1, "", "", 0 };
	s.tls = rng_chance(r, sub == IN_SPAM ? 0.3 : 0.85);
	s.bdat = (sub == IN_FREEMAIL || (d && d->style == 2)) && rng_chance(r, 0.6);
	s.quit = rng_chance(r, 0.9);
	for (int i = 0; i < m->nr; i++)
		s.nrej += m->r[i].group == NOGROUP;
	int fate = F_NORMAL;
	double u = rng_unit(r);
	if (sub == IN_SPAM)
		fate = u < 0.08 ? F_HOLD : u < 0.14 ? F_MILTER : F_NORMAL;
	else
		fate = u < 0.003 ? F_HOLD : u < 0.0045 ? F_MILTER : F_NORMAL;
	if (fate != F_NORMAL) {
		m->subj_logged = 1;
		/* keep the rows simple: a filtered message has one recipient */
		m->nr = 1;
		m->r[0].group = 0;
		m->ng = 1;
		s.nrej = 0;
	}
	G.n_msgs++;
	smtp_intake(m, &s, t, G.hosts[m->host].postscreen, fate);
}

static void plan_submission(int64_t t, int internal)
{
	rng_t *gr = &G.rng;
	int nr = rcpt_count(gr, internal ? 0.65 : 0.88);
	msg_t *m = msg_new(nr * 4 + 2);
	rng_seed(&m->rng, rng_next(gr));
	rng_t *r = &m->rng;
	m->kind = MK_SUBMISSION;
	m->host = pick_host(r);
	host_t *h = &G.hosts[m->host];
	const luser_t *u = &G.lu[pick_luser(r)];
	sess_t s = { P_SUBMISSION, 1, 1, 0, 1, "PLAIN", "", 0 };
	scopy(s.sasl_user, sizeof s.sasl_user, u->addr, strlen(u->addr));
	scopy(m->from, sizeof m->from, u->addr, strlen(u->addr));
	if (rng_chance(r, 0.05)) {
		/* sending as a role address of the same domain */
		const luser_t *a = &G.lu[G.roles[u->dom * 10 + rng_below(r, 10)]];
		scopy(m->from, sizeof m->from, a->addr, strlen(a->addr));
	}
	m->sender_local = 1;
	const char *sdom = domain_of(m->from);
	int mid;
	if (rng_chance(r, 0.25)) {
		s.prog = P_SMTPD;
		s.tls = 0;
		s.sasl_method = "LOGIN";
		snprintf(m->cname, sizeof m->cname, "webmail.%s", G.o.local_domains[0]);
		scopy(m->cip, sizeof m->cip, "192.0.2.30", 10);
		scopy(m->helo, sizeof m->helo, m->cname, strlen(m->cname));
		mid = MID_HEX;
	} else {
		dynamic_client(r, rng_chance(r, 0.6), m->cname, sizeof m->cname, m->cip, sizeof m->cip);
		s.sasl_method = rng_chance(r, 0.8) ? "PLAIN" : "LOGIN";
		switch (rng_below(r, 4)) {
		case 0: snprintf(m->helo, sizeof m->helo, "[%s]", m->cip); break;
		case 1: rng_name(r, m->helo, sizeof m->helo, "DESKTOP-", "A0AA0AA"); break;
		case 2: snprintf(m->helo, sizeof m->helo, "MacBook-Pro.local"); break;
		default: snprintf(m->helo, sizeof m->helo, "[127.0.0.1]"); break;
		}
		mid = rng_chance(r, 0.65) ? MID_UUID : rng_chance(r, 0.7) ? MID_APPLE : MID_JAVA;
	}
	for (int k = 0; k < nr; k++) {
		if (internal || rng_chance(r, 0.12))
			add_local_rcpt(m, r, 1);
		else
			add_remote_rcpt(m, r);
	}
	if (m->nr == 0)
		add_remote_rcpt(m, r);
	size_of(m, r, 16000, 1.3);
	subject_make(&m->subj, r, internal ? SK_INTERNAL : SK_BUSINESS, t, h->name);
	m->subj_logged = rng_chance(r, 0.97);
	set_msgid(m, r, mid, sdom);
	G.n_msgs++;
	smtp_intake(m, &s, t, 0, F_NORMAL);
}

/* Mail submitted on the host itself (sendmail(1) -> pickup): cron output
 * for root, notifications of a web application. */
static void plan_pickup(int64_t t)
{
	rng_t *gr = &G.rng;
	msg_t *m = msg_new(4);
	rng_seed(&m->rng, rng_next(gr));
	rng_t *r = &m->rng;
	m->kind = MK_PICKUP;
	m->host = pick_host(r);
	host_t *h = &G.hosts[m->host];
	int cron = rng_chance(r, 0.6);
	const char *pickup_from;
	unsigned uid;
	char tmp[128];
	if (cron) {
		uid = 0;
		pickup_from = "root";
		snprintf(m->from, sizeof m->from, "root@%s", h->fqdn);
		snprintf(tmp, sizeof tmp, "root@%s", h->fqdn);
		int gi = group_for(m, T_LOCAL, NULL);
		add_rcpt(m, tmp, "root", gi);
		subject_make(&m->subj, r, SK_CRON, t, h->name);
		m->size = 700 + rng_below(r, 6000);
	} else {
		uid = 33;
		snprintf(m->from, sizeof m->from, "noreply@%s", G.o.local_domains[0]);
		pickup_from = m->from;
		if (rng_chance(r, 0.75))
			add_remote_rcpt(m, r);
		else
			add_local_rcpt(m, r, 0);
		subject_make(&m->subj, r, SK_NOTIFY, t, h->name);
		m->size = 2500 + rng_below(r, 20000);
	}
	m->sender_local = 1;
	m->subj_logged = 1;
	scopy(m->cip, sizeof m->cip, "", 0);
	m->inode = inode_alloc(h);
	qid_make(h, t, m->inode, m->qid);
	m->t_arrive = m->t_first = t;
	set_msgid(m, r, cron || rng_chance(r, 0.5) ? MID_POSTFIX : MID_HEX, G.o.local_domains[0]);
	ml_buf_t *L = line(m->host, P_PICKUP, h->pid_pickup, t);
	b_qid(L, m);
	b_str(L, "uid=");
	b_u64(L, uid);
	b_str(L, " from=<");
	b_str(L, pickup_from);
	b_ch(L, '>');
	set_all(m, ST_QUEUED, t);
	int64_t tc = t + rng_range(r, MS(1), MS(8));
	tc = cleanup_lines(m, r, tc, F_NORMAL, 1, proc_get(h, P_CLEANUP, tc, MS(20)));
	G.n_msgs++;
	msg_continue(m, msg_pass(m, tc + rng_range(r, MS(1), MS(6)), 1));
}

/* A client refused at RCPT time: no queue file, one row per refused
 * recipient. */
static void plan_noqueue(int64_t t)
{
	rng_t *gr = &G.rng;
	msg_t *m = msg_new(4);
	rng_seed(&m->rng, rng_next(gr));
	rng_t *r = &m->rng;
	m->host = pick_host(r);
	host_t *h = &G.hosts[m->host];
	enum { RJ_RBL, RJ_UNKNOWN, RJ_RELAY, RJ_SENDER, RJ_CLIENT, RJ_HELO, RJ_GREY };
	static const double W[] = { 28, 30, 12, 10, 8, 5, 7 };
	int kind = rng_pick(r, W, 7);
	int legit = (kind == RJ_UNKNOWN && rng_chance(r, 0.5)) || kind == RJ_GREY;
	ml_buf_t b = ML_BUF_INIT;
	if (legit) {
		const rdom_t *d = pick_rdom(r);
		b_remote_addr(&b, r, d);
		bcopy_to(m->from, sizeof m->from, &b);
		remote_client(r, d, m->cname, sizeof m->cname, m->cip, sizeof m->cip);
		scopy(m->helo, sizeof m->helo, m->cname, strlen(m->cname));
	} else {
		spam_sender(m, r);
		dynamic_client(r, kind != RJ_CLIENT && rng_chance(r, 0.4), m->cname, sizeof m->cname, m->cip, sizeof m->cip);
		spam_helo(m, r);
		if (kind == RJ_HELO)
			scopy(m->helo, sizeof m->helo, "User", 4);
	}
	int n = rng_chance(r, 0.85) ? 1 : 2 + (int)rng_below(r, 3);
	for (int k = 0; k < n; k++) {
		b.len = 0;
		if (kind == RJ_UNKNOWN) {
			static const char *const GUESS[] = { "admin", "test", "webmaster", "info2", "sales01",
				"accounts", "ceo", "hr-dept", "office1", "mail", "user", "contact-us", "paypal", "backup" };
			if (rng_chance(r, 0.5)) {
				b_str(&b, PICK(r, GUESS));
			} else {
				b_ch(&b, PICK(r, FIRST)[0]);
				b_str(&b, PICK(r, LAST));
				b_u64(&b, rng_below(r, 100));
			}
			b_ch(&b, '@');
			b_str(&b, G.o.local_domains[rng_below(r, (uint32_t)G.o.nlocal)]);
		} else if (kind == RJ_RELAY) {
			b_remote_addr(&b, r, pick_rdom(r));
		} else {
			b_str(&b, G.lu[pick_luser(r)].addr);
		}
		b_ch(&b, 0);
		if (!has_rcpt(m, b.data))
			add_rcpt(m, b.data, NULL, NOGROUP);
	}
	if (h->postscreen)
		t = postscreen_pass(m->host, r, m->cip, t);
	uint32_t pid = proc_get(h, P_SMTPD, t, SEC(5));
	ml_buf_t *L = line(m->host, P_SMTPD, pid, t);
	b_str(L, "connect from ");
	b_client(L, m->cname, m->cip);
	int tls = rng_chance(r, legit ? 0.8 : 0.25);
	if (tls && h->tls_log) {
		t += rng_range(r, MS(15), MS(200));
		L = line(m->host, P_SMTPD, pid, t);
		b_str(L, "Anonymous TLS connection established from ");
		b_client(L, m->cname, m->cip);
		b_str(L, ": ");
		b_tls_in(L, r);
	}
	t += rng_range(r, MS(150), SEC(2));
	for (int i = 0; i < m->nr; i++) {
		L = line(m->host, P_SMTPD, pid, t);
		b_str(L, "NOQUEUE: reject: RCPT from ");
		b_client(L, m->cname, m->cip);
		b_str(L, ": ");
		const char *to = m->r[i].to;
		switch (kind) {
		case RJ_RBL:
			b_str(L, "554 5.7.1 Service unavailable; Client host [");
			b_str(L, m->cip);
			b_str(L, "] blocked using zen.spamhaus.org");
			break;
		case RJ_UNKNOWN:
			b_str(L, "550 5.1.1 <");
			b_str(L, to);
			b_str(L, ">: Recipient address rejected: User unknown in virtual mailbox table");
			break;
		case RJ_RELAY:
			b_str(L, "554 5.7.1 <");
			b_str(L, to);
			b_str(L, ">: Relay access denied");
			break;
		case RJ_SENDER:
			b_str(L, "450 4.1.8 <");
			b_str(L, m->from);
			b_str(L, ">: Sender address rejected: Domain not found");
			break;
		case RJ_CLIENT:
			b_str(L, "450 4.7.25 Client host rejected: cannot find your hostname, [");
			b_str(L, m->cip);
			b_ch(L, ']');
			break;
		case RJ_HELO:
			b_str(L, "504 5.5.2 <");
			b_str(L, m->helo);
			b_str(L, ">: Helo command rejected: need fully-qualified hostname");
			break;
		default:
			b_str(L, "450 4.2.0 <");
			b_str(L, to);
			b_str(L, ">: Recipient address rejected: Greylisted, see https://greylist.example/help/");
			b_str(L, domain_of(to));
			b_str(L, ".html");
			break;
		}
		b_str(L, "; from=<");
		b_str(L, m->from);
		b_str(L, "> to=<");
		b_str(L, to);
		b_str(L, "> proto=ESMTP helo=<");
		b_str(L, m->helo);
		b_ch(L, '>');
		truth_row(&TB, m->host, "", m->from, to, "", "", ST_BLOCKED, "", m->cip, t);
		t += rng_range(r, MS(10), MS(400));
	}
	int ehlo = tls ? 2 : 1;
	int lost = rng_chance(r, 0.3);
	if (lost) {
		L = line(m->host, P_SMTPD, pid, t);
		b_str(L, "lost connection after RCPT from ");
		b_client(L, m->cname, m->cip);
		t += rng_range(r, 50, 800);
	}
	int ok = ehlo + tls + 1 + !lost, all = ok + m->nr;
	L = line(m->host, P_SMTPD, pid, t);
	b_str(L, "disconnect from ");
	b_client(L, m->cname, m->cip);
	b_str(L, " ehlo=");
	b_u64(L, (uint64_t)ehlo);
	if (tls)
		b_str(L, " starttls=1");
	b_str(L, " mail=1 rcpt=0/");
	b_u64(L, (uint64_t)m->nr);
	if (!lost)
		b_str(L, " quit=1");
	b_str(L, " commands=");
	b_u64(L, (uint64_t)ok);
	b_ch(L, '/');
	b_u64(L, (uint64_t)all);
	G.n_msgs++;
	ml_buf_free(&b);
	free(m);
}

/* ------------------------------------------------------------------ */
/* Noise: connections that carry no mail, statistics, warnings          */

static void noise_postscreen(int host, rng_t *r, int64_t t)
{
	host_t *h = &G.hosts[host];
	char name[112], ip[48];
	dynamic_client(r, 0, name, sizeof name, ip, sizeof ip);
	unsigned port = 1024 + rng_below(r, 64000);
	ml_buf_t *L = line(host, P_POSTSCREEN, h->pid_postscreen, t);
	b_str(L, "CONNECT from ");
	b_ipport(L, ip, port);
	b_str(L, " to [");
	b_str(L, h->ip);
	b_str(L, "]:25");
	int listed = rng_chance(r, 0.75);
	uint32_t dpid = proc_get(h, P_DNSBLOG, t, MS(200));
	int rank = 0;
	if (listed) {
		int n = 1 + (int)rng_below(r, 3);
		static const int CODES[] = { 2, 3, 4, 9, 10, 11 };
		for (int i = 0; i < n; i++) {
			L = line(host, P_DNSBLOG, dpid, t + rng_range(r, MS(5), MS(120)) + i * 300);
			b_str(L, "addr ");
			b_str(L, ip);
			b_str(L, " listed by domain zen.spamhaus.org as 127.0.0.");
			b_u64(L, (uint64_t)PICK(r, CODES));
		}
		rank = 3 * n;
	}
	t += rng_range(r, MS(150), MS(900));
	if (rng_chance(r, 0.3)) {
		L = line(host, P_POSTSCREEN, h->pid_postscreen, t);
		b_str(L, "PREGREET ");
		b_u64(L, 11 + rng_below(r, 20));
		b_str(L, " after 0.");
		b_u0(L, rng_below(r, 99), 2);
		b_str(L, " from ");
		b_ipport(L, ip, port);
		b_str(L, rng_chance(r, 0.7) ? ": EHLO User\\r\\n" : ": HELO localhost\\r\\n");
		t += rng_range(r, 100, MS(5));
	}
	if (rank) {
		L = line(host, P_POSTSCREEN, h->pid_postscreen, t);
		b_str(L, "DNSBL rank ");
		b_u64(L, (uint64_t)rank);
		b_str(L, " for ");
		b_ipport(L, ip, port);
		t += rng_range(r, MS(1), SEC(5));
	}
	double u = rng_unit(r);
	if (u < 0.25 && rank) {
		/* postscreen's own reject of a listed client that went on talking */
		msg_t tmp;
		memset(&tmp, 0, sizeof tmp);
		spam_sender(&tmp, r);
		const char *to = G.lu[pick_luser(r)].addr;
		L = line(host, P_POSTSCREEN, h->pid_postscreen, t);
		b_str(L, "NOQUEUE: reject: RCPT from ");
		b_ipport(L, ip, port);
		b_str(L, ": 550 5.7.1 Service unavailable; client [");
		b_str(L, ip);
		b_str(L, "] blocked using zen.spamhaus.org; from=<");
		b_str(L, tmp.from);
		b_str(L, ">, to=<");
		b_str(L, to);
		b_str(L, ">, proto=ESMTP, helo=<");
		b_str(L, rng_chance(r, 0.5) ? "User" : domain_of(tmp.from));
		b_str(L, ">");
		truth_row(&TB, host, "", tmp.from, to, "", "", ST_BLOCKED, "", ip, t);
		t += rng_range(r, MS(100), SEC(2));
	} else if (u < 0.5) {
		L = line(host, P_POSTSCREEN, h->pid_postscreen, t);
		b_str(L, "HANGUP after ");
		b_u64(L, rng_below(r, 9));
		b_ch(L, '.');
		b_u64(L, rng_below(r, 10));
		b_str(L, " from ");
		b_ipport(L, ip, port);
		b_str(L, rng_chance(r, 0.5) ? " in tests after SMTP handshake" : " in tests before SMTP handshake");
		t += rng_range(r, 50, 500);
	} else if (u < 0.6) {
		L = line(host, P_POSTSCREEN, h->pid_postscreen, t);
		b_str(L, "COMMAND PIPELINING from ");
		b_ipport(L, ip, port);
		b_str(L, " after EHLO: MAIL FROM:<>\\r\\n");
		t += rng_range(r, MS(5), MS(300));
	}
	L = line(host, P_POSTSCREEN, h->pid_postscreen, t);
	b_str(L, "DISCONNECT ");
	b_ipport(L, ip, port);
}

static void noise_smtpd(int host, rng_t *r, int64_t t)
{
	host_t *h = &G.hosts[host];
	char name[112], ip[48];
	double u = rng_unit(r);
	int sub = u < 0.45;  /* password guessing on the submission port */
	int prog = sub ? P_SUBMISSION : P_SMTPD;
	dynamic_client(r, rng_chance(r, 0.3), name, sizeof name, ip, sizeof ip);
	uint32_t pid = proc_get(h, prog, t, SEC(10));
	ml_buf_t *L;
	if (!sub && rng_chance(r, 0.2) && strcmp(name, "unknown") == 0 && strchr(ip, ':') == NULL) {
		L = line(host, prog, pid, t);
		b_str(L, "warning: hostname ");
		b_str(L, "host-");
		b_str(L, strrchr(ip, '.') + 1);
		b_str(L, ".static.hosting.example does not resolve to address ");
		b_str(L, ip);
		b_str(L, ": Name or service not known");
		t += rng_range(r, 100, MS(20));
	}
	L = line(host, prog, pid, t);
	b_str(L, "connect from ");
	b_client(L, name, ip);
	if (sub) {
		int tries = 1 + (int)rng_below(r, 3);
		t += rng_range(r, MS(200), SEC(2));
		for (int i = 0; i < tries; i++) {
			L = line(host, prog, pid, t);
			b_str(L, "warning: ");
			b_client(L, name, ip);
			b_str(L, rng_chance(r, 0.6) ? ": SASL LOGIN authentication failed: UGFzc3dvcmQ6"
						   : ": SASL PLAIN authentication failed: ");
			t += rng_range(r, SEC(1), SEC(4));
		}
		L = line(host, prog, pid, t);
		b_str(L, "lost connection after AUTH from ");
		b_client(L, name, ip);
		L = line(host, prog, pid, t + rng_range(r, 50, 500));
		b_str(L, "disconnect from ");
		b_client(L, name, ip);
		b_str(L, " ehlo=1 auth=0/");
		b_u64(L, (uint64_t)tries);
		b_str(L, " commands=1/");
		b_u64(L, (uint64_t)tries + 1);
		return;
	}
	t += rng_range(r, MS(100), SEC(10));
	static const char *const WHAT[] = { "lost connection after CONNECT from ", "timeout after CONNECT from ",
		"lost connection after EHLO from ", "lost connection after STARTTLS from ",
		"improper command pipelining after CONNECT from ", "SSL_accept error from " };
	static const double WW[] = { 30, 15, 20, 10, 10, 15 };
	int w = rng_pick(r, WW, 6);
	if (w == 1)
		t += SEC(300);
	L = line(host, prog, pid, t);
	b_str(L, WHAT[w]);
	b_client(L, name, ip);
	if (w == 4)
		b_str(L, ": GET / HTTP/1.1\\r\\nHost: mail\\r\\n");
	else if (w == 5)
		b_str(L, ": lost connection");
	L = line(host, prog, pid, t + rng_range(r, 50, 500));
	b_str(L, "disconnect from ");
	b_client(L, name, ip);
	if (w == 0 || w == 1 || w == 4)
		b_str(L, " commands=0/0");
	else if (w == 5)
		b_str(L, " ehlo=1 starttls=0/1 commands=1/2");
	else
		b_str(L, w == 3 ? " ehlo=1 starttls=1 commands=2" : " ehlo=1 commands=1");
}

static void noise_event(int64_t t)
{
	rng_t *r = &G.nrng;
	int host = pick_host(r);
	host_t *h = &G.hosts[host];
	double u = rng_unit(r);
	G.n_noise_sessions++;
	if (h->postscreen && u < 0.55) {
		noise_postscreen(host, r, t);
	} else if (u < 0.97) {
		noise_smtpd(host, r, t);
	} else {
		char ip[48], name[16];
		dynamic_client(r, 0, name, sizeof name, ip, sizeof ip);
		if (strchr(ip, ':'))
			return;  /* the reversed name below is IPv4 only */
		ml_buf_t *L = line(host, P_DNSBLOG, proc_get(h, P_DNSBLOG, t, MS(100)), t);
		b_str(L, "warning: dnsblog_query: lookup error for DNS query ");
		const char *o = strrchr(ip, '.') + 1;
		b_str(L, o);
		b_str(L, ".113.0.203.zen.spamhaus.org: Host or domain name not found. Name service error for name=");
		b_str(L, o);
		b_str(L, ".113.0.203.zen.spamhaus.org type=A: Host not found, try again");
	}
}

enum { TM_ANVIL, TM_SCACHE, TM_MONITOR, TM_PSCACHE, TM_TLSMGR, TM__COUNT };

typedef struct {
	int64_t next;
	int host, kind;
} timer_t_;

static timer_t_ *TM;
static int NTM;

static void b_at(ml_buf_t *b, int64_t t)
{
	b_bsdtime(b, t / US_PER_S);
}

static int64_t timer_fire(timer_t_ *tm)
{
	rng_t *r = &G.nrng;
	host_t *h = &G.hosts[tm->host];
	int64_t t = tm->next;
	ml_buf_t *L;
	switch (tm->kind) {
	case TM_ANVIL: {
		char name[16], ip[48];
		dynamic_client(r, 0, name, sizeof name, ip, sizeof ip);
		int64_t at = t - rng_range(r, SEC(10), SEC(590));
		L = line(tm->host, P_ANVIL, h->pid_anvil, t);
		b_str(L, "statistics: max connection rate ");
		b_u64(L, 1 + rng_zipf(r, 30, 1));
		b_str(L, "/60s for (smtp:");
		b_str(L, ip);
		b_str(L, ") at ");
		b_at(L, at);
		L = line(tm->host, P_ANVIL, h->pid_anvil, t + 200);
		b_str(L, "statistics: max connection count ");
		b_u64(L, 1 + rng_zipf(r, 8, 1));
		b_str(L, " for (smtp:");
		b_str(L, ip);
		b_str(L, ") at ");
		b_at(L, at);
		L = line(tm->host, P_ANVIL, h->pid_anvil, t + 350);
		b_str(L, "statistics: max cache size ");
		b_u64(L, 1 + rng_zipf(r, 40, 2));
		b_str(L, " at ");
		b_at(L, at + SEC(1));
		return t + SEC(600) + rng_range(r, 0, SEC(2));
	}
	case TM_SCACHE: {
		uint32_t pid = new_pid(h);
		uint64_t hits = rng_below(r, 60), miss = 1 + rng_below(r, 80);
		L = line(tm->host, P_SCACHE, pid, t);
		b_str(L, "statistics: start interval ");
		b_at(L, t - rng_range(r, SEC(200), SEC(1800)));
		L = line(tm->host, P_SCACHE, pid, t + 150);
		b_str(L, "statistics: domain lookup hits=");
		b_u64(L, hits);
		b_str(L, " miss=");
		b_u64(L, miss);
		b_str(L, " success=");
		b_u64(L, hits * 100 / (hits + miss));
		b_ch(L, '%');
		L = line(tm->host, P_SCACHE, pid, t + 260);
		b_str(L, "statistics: address lookup hits=0 miss=");
		b_u64(L, miss + rng_below(r, 5));
		b_str(L, " success=0%");
		L = line(tm->host, P_SCACHE, pid, t + 370);
		b_str(L, "statistics: max simultaneous domains=");
		b_u64(L, 1 + rng_below(r, 4));
		b_str(L, " addresses=");
		b_u64(L, 1 + rng_below(r, 6));
		b_str(L, " connection=");
		b_u64(L, 1 + rng_below(r, 8));
		return t + SEC(900) + rng_range(r, 0, SEC(3600));
	}
	case TM_MONITOR: {
		char name[96];
		if (tm->host % 3 == 2)
			return G.cutoff_us + 1;  /* not watched */
		snprintf(name, sizeof name, "monitor.%s", G.o.local_domains[0]);
		int64_t tt = t;
		if (h->postscreen)
			tt = postscreen_pass(tm->host, r, "192.0.2.50", tt);
		uint32_t pid = proc_get(h, P_SMTPD, tt, MS(100));
		L = line(tm->host, P_SMTPD, pid, tt);
		b_str(L, "connect from ");
		b_client(L, name, "192.0.2.50");
		L = line(tm->host, P_SMTPD, pid, tt + rng_range(r, MS(5), MS(40)));
		b_str(L, "disconnect from ");
		b_client(L, name, "192.0.2.50");
		b_str(L, " ehlo=1 quit=1 commands=2");
		return t + SEC(600) + rng_range(r, -MS(300), MS(300));
	}
	case TM_PSCACHE:
		if (h->postscreen) {
			L = line(tm->host, P_POSTSCREEN, h->pid_postscreen, t);
			b_str(L, "cache btree:/var/lib/postfix/postscreen_cache full cleanup: retained=");
			b_u64(L, 200 + rng_below(r, 3000));
			b_str(L, " dropped=");
			b_u64(L, rng_below(r, 400));
			b_str(L, " entries");
		}
		return t + SEC(12 * 3600);
	default:
		h->pid_tlsmgr = new_pid(h);
		L = line(tm->host, P_TLSMGR, h->pid_tlsmgr, t);
		b_str(L, "warning: request to update table btree:/var/lib/postfix/smtpd_scache in non-postfix directory /var/lib/postfix");
		return t + SEC(6 * 3600) + (int64_t)rng_exp(r, 20.0 * 3600 * US_PER_S);
	}
}

/* ------------------------------------------------------------------ */
/* The run                                                             */

static void drain(int64_t T)
{
	while (HN && HP[0].t <= T) {
		ev_t e;
		heap_pop(&e);
		if (e.t > G.frontier)
			G.frontier = e.t;
		if (e.wake) {
			msg_t *m = e.p;
			msg_continue(m, msg_pass(m, e.t, 1));
			stage_commit();
			continue;
		}
		block_t *bk = e.p;
		out_line(e.t, e.host, e.prog, e.pid, bk->text + e.off, e.len);
		if (--bk->refs == 0)
			free(bk);
	}
	if (T > G.frontier)
		G.frontier = T;
}

/* Relative traffic by hour of day (UTC) and weekday. */
static double intensity(int64_t secs)
{
	static const double HOUR[24] = { 0.25, 0.2, 0.18, 0.17, 0.18, 0.25, 0.45, 0.75,
		0.95, 1.0, 1.0, 0.95, 0.85, 0.95, 1.0, 0.95, 0.85, 0.7, 0.55, 0.5, 0.45,
		0.4, 0.35, 0.3 };
	civil_t c = civil_from_secs(secs);
	double w = HOUR[c.hour];
	if (c.wday == 0 || c.wday == 6)
		w *= 0.45;
	return w;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gen --messages N [--seed S] [--out PATH|-] [--hosts K]\n"
		"           [--start 2026-11-01T00:00:00Z] [--days D] [--format bsd|rfc3339]\n"
		"           [--truth PATH] [--local-domains example.com,example.net,...]\n"
		"Writes a realistic Postfix log of N messages (deterministic per seed);\n"
		"--truth writes the expected rows as JSON Lines.  See bench/README.md.\n");
}

static void parse_args(int argc, char **argv)
{
	opts_t *o = &G.o;
	o->seed = 1;
	o->out_path = "-";
	o->nhosts = 3;
	parse_start("2026-11-01T00:00:00Z", &o->start_s);
	o->days = 0;
	int have_n = 0;
	static char ldbuf[512];
	const char *ld = "example.com,example.net,example.org";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end = NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			exit(0);
		}
		if (!v) {
			usage(stderr);
			exit(2);
		}
		i++;
		errno = 0;
		if (strcmp(a, "--messages") == 0) {
			o->messages = strtoull(v, &end, 10);
			have_n = 1;
		} else if (strcmp(a, "--seed") == 0) {
			o->seed = strtoull(v, &end, 0);
		} else if (strcmp(a, "--out") == 0) {
			o->out_path = v;
		} else if (strcmp(a, "--truth") == 0) {
			o->truth_path = v;
		} else if (strcmp(a, "--hosts") == 0) {
			long k = strtol(v, &end, 10);
			if (k < 1 || k > 32) {
				fprintf(stderr, "gen: --hosts: 1 to 32\n");
				exit(2);
			}
			o->nhosts = (int)k;
		} else if (strcmp(a, "--start") == 0) {
			if (parse_start(v, &o->start_s) != 0) {
				fprintf(stderr, "gen: --start: expected YYYY-MM-DDTHH:MM:SSZ\n");
				exit(2);
			}
		} else if (strcmp(a, "--days") == 0) {
			o->days = strtod(v, &end);
			if (!(o->days > 0) || o->days > 3650) {
				fprintf(stderr, "gen: --days: a positive number of days\n");
				exit(2);
			}
		} else if (strcmp(a, "--format") == 0) {
			if (strcmp(v, "bsd") == 0)
				o->rfc3339 = 0;
			else if (strcmp(v, "rfc3339") == 0)
				o->rfc3339 = 1;
			else {
				fprintf(stderr, "gen: --format: bsd or rfc3339\n");
				exit(2);
			}
		} else if (strcmp(a, "--local-domains") == 0) {
			ld = v;
		} else {
			fprintf(stderr, "gen: unknown option %s\n", a);
			usage(stderr);
			exit(2);
		}
		if (end && (*end || errno)) {
			fprintf(stderr, "gen: %s: bad number '%s'\n", a, v);
			exit(2);
		}
	}
	if (!have_n || o->messages == 0 || o->messages > 1000000000ULL) {
		usage(stderr);
		exit(2);
	}
	scopy(ldbuf, sizeof ldbuf, ld, strlen(ld));
	for (char *p = ldbuf; *p && o->nlocal < 8;) {
		char *c = strchr(p, ',');
		if (c)
			*c = 0;
		if (*p)
			o->local_domains[o->nlocal++] = p;
		if (!c)
			break;
		p = c + 1;
	}
	if (o->nlocal == 0) {
		fprintf(stderr, "gen: --local-domains: at least one domain\n");
		exit(2);
	}
	if (o->days == 0) {
		/* about 1M messages a week; at least a day */
		o->days = (double)(int64_t)(7.0 * (double)o->messages / 1e6 + 0.5);
		if (o->days < 1)
			o->days = 1;
	}
}

static void hosts_init(void)
{
	G.nhosts = G.o.nhosts;
	G.hosts = calloc((size_t)G.nhosts, sizeof *G.hosts);
	for (int i = 0; i < G.nhosts; i++) {
		host_t *h = &G.hosts[i];
		uint64_t x = hash64(G.o.seed ^ 0x4057, (uint64_t)i);
		snprintf(h->name, sizeof h->name, "mx%d", i + 1);
		snprintf(h->fqdn, sizeof h->fqdn, "mx%d.%s", i + 1, G.o.local_domains[0]);
		snprintf(h->ip, sizeof h->ip, "192.0.2.%d", 25 + i);
		h->long_ids = i % 3 == 2;
		h->postscreen = i % 3 == 0;
		h->tls_log = i % 3 == 0;
		h->ltrans = i % 3 == 0 ? LT_LMTP_UNIX : i % 3 == 1 ? LT_LMTP_TCP : LT_VIRTUAL;
		h->weight = 1.0 / (1.0 + 0.35 * i);
		h->next_pid = 800 + (uint32_t)(x % 30000);
		h->pid_postscreen = new_pid(h);
		h->pid_qmgr = new_pid(h);
		h->pid_anvil = new_pid(h);
		h->pid_tlsmgr = new_pid(h);
		h->pid_pickup = new_pid(h);
		h->next_pid += 500 + (uint32_t)(x >> 32) % 5000;
		h->next_inode = i % 2 ? 0x1000000u + (uint32_t)((x >> 20) % 0x600000)
				      : 0x20000u + (uint32_t)((x >> 20) % 0x300000);
	}
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rng_seed(&G.rng, G.o.seed);
	rng_seed(&G.nrng, G.o.seed ^ 0x6E6F697365ULL);
	G.start_us = G.o.start_s * US_PER_S;
	G.span_us = (int64_t)(G.o.days * 86400.0) * US_PER_S;
	G.cutoff_us = G.start_us + G.span_us;
	G.frontier = G.start_us;
	/* maximal_queue_lifetime: Postfix's 5 days when the run is long enough
	 * to show it, else a third of the span (some mail must expire). */
	G.lifetime_us = G.span_us / 3;
	if (G.lifetime_us > SEC(5 * 86400))
		G.lifetime_us = SEC(5 * 86400);
	if (G.lifetime_us < SEC(600))
		G.lifetime_us = SEC(600);
	if (G.lifetime_us >= SEC(6 * 3600))
		G.lifetime_us = G.lifetime_us / SEC(3600) * SEC(3600);
	else
		G.lifetime_us = G.lifetime_us / SEC(60) * SEC(60);
	G.warn_us = SEC(4 * 3600);
	double visible = G.span_us > G.lifetime_us ? (double)(G.span_us - G.lifetime_us) / (double)G.span_us : 0.2;
	P_DEAD = 0.01 / 0.27 / visible;
	if (P_DEAD > 0.2)
		P_DEAD = 0.2;

	hosts_init();
	world_build();
	out_open(&OUT, G.o.out_path);
	if (G.o.truth_path)
		out_open(&TRUTH, G.o.truth_path);

	/* Arrival times: N+1 exponential gaps normalised onto the cumulative
	 * intensity of the span (a Poisson process conditioned on N). */
	int64_t nbins = (G.span_us + SEC(60) - 1) / SEC(60);
	double *cum = xmalloc((size_t)(nbins + 1) * sizeof *cum);
	cum[0] = 0;
	for (int64_t i = 0; i < nbins; i++)
		cum[i + 1] = cum[i] + intensity(G.o.start_s + i * 60);
	rng_t ar;
	rng_seed(&ar, G.o.seed ^ 0xA77AFULL);
	double S = 0;
	for (uint64_t i = 0; i <= G.o.messages; i++)
		S += rng_exp(&ar, 1.0);
	rng_seed(&ar, G.o.seed ^ 0xA77AFULL);

	/* timers and noise */
	NTM = G.nhosts * TM__COUNT;
	TM = calloc((size_t)NTM, sizeof *TM);
	for (int i = 0; i < NTM; i++) {
		TM[i].host = i / TM__COUNT;
		TM[i].kind = i % TM__COUNT;
		TM[i].next = G.start_us + rng_range(&G.nrng, SEC(1), TM[i].kind == TM_PSCACHE ? SEC(12 * 3600) :
			TM[i].kind == TM_TLSMGR ? SEC(8 * 3600) : SEC(600));
	}
	double noise_mean = (double)G.span_us / ((double)G.o.messages * 0.35 + 1);
	int64_t noise_next = G.start_us + (int64_t)rng_exp(&G.nrng, noise_mean);

	double c = 0;
	int64_t bin = 0;
	for (uint64_t i = 0; i < G.o.messages; i++) {
		c += rng_exp(&ar, 1.0);
		double target = c / S * cum[nbins];
		while (bin < nbins - 1 && cum[bin + 1] <= target)
			bin++;
		double w = cum[bin + 1] - cum[bin];
		double frac = w > 0 ? (target - cum[bin]) / w : 0;
		if (frac > 1)
			frac = 1;
		int64_t ta = G.start_us + bin * SEC(60) + (int64_t)(frac * 60e6);
		if (ta < G.frontier)
			ta = G.frontier;

		for (;;) {
			int best = -1;
			int64_t tn = noise_next;
			for (int k = 0; k < NTM; k++)
				if (TM[k].next < tn) {
					tn = TM[k].next;
					best = k;
				}
			if (tn > ta)
				break;
			drain(tn);
			if (best < 0) {
				noise_event(tn);
				noise_next = tn + 1 + (int64_t)rng_exp(&G.nrng, noise_mean);
			} else {
				TM[best].next = timer_fire(&TM[best]);
			}
			stage_commit();
		}
		drain(ta);
		double u = rng_unit(&G.rng);
		if (u < 0.04)
			plan_noqueue(ta);
		else if (u < 0.61)
			plan_inbound(ta);
		else if (u < 0.91)
			plan_submission(ta, 0);
		else if (u < 0.97)
			plan_submission(ta, 1);
		else
			plan_pickup(ta);
		stage_commit();
	}
	/* the quiet tail of the span: timers and noise go on until the end */
	for (;;) {
		int best = -1;
		int64_t tn = noise_next;
		for (int k = 0; k < NTM; k++)
			if (TM[k].next < tn) {
				tn = TM[k].next;
				best = k;
			}
		if (tn > G.cutoff_us)
			break;
		drain(tn);
		if (best < 0) {
			noise_event(tn);
			noise_next = tn + 1 + (int64_t)rng_exp(&G.nrng, noise_mean);
		} else {
			TM[best].next = timer_fire(&TM[best]);
		}
		stage_commit();
	}
	drain(G.cutoff_us);
	out_close(&OUT);
	out_close(&TRUTH);
	/* the log's modification time is the end of its span, as a log's last
	 * write is: a reader of traditional timestamps (no year) takes the year
	 * from it, and a span that runs past today would otherwise read as last
	 * year's */
	if (strcmp(G.o.out_path, "-") != 0) {
		struct timespec ts[2];
		ts[0].tv_sec = ts[1].tv_sec = (time_t)(G.cutoff_us / US_PER_S);
		ts[0].tv_nsec = ts[1].tv_nsec = 0;
		if (utimensat(AT_FDCWD, G.o.out_path, ts, 0) != 0)
			fprintf(stderr, "gen: %s: cannot set its time: %s\n", G.o.out_path, strerror(errno));
	}
	free(cum);

	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	uint64_t rows = 0;
	for (int i = 1; i < ST__COUNT; i++)
		rows += G.n_rows[i];
	fprintf(stderr, "gen: %llu messages (+%llu bounce/delay notices), %llu noise sessions, %.1f days, %d hosts\n",
		(unsigned long long)G.n_msgs, (unsigned long long)G.n_ndr,
		(unsigned long long)G.n_noise_sessions, G.o.days, G.nhosts);
	fprintf(stderr, "gen: %llu lines, %llu bytes, %.2f s\n", (unsigned long long)G.n_lines,
		(unsigned long long)G.n_bytes, secs);
	fprintf(stderr, "gen: %llu rows:", (unsigned long long)rows);
	for (int i = 1; i < ST__COUNT; i++)
		fprintf(stderr, " %s %llu (%.1f%%)", STNAME[i], (unsigned long long)G.n_rows[i],
			rows ? 100.0 * (double)G.n_rows[i] / (double)rows : 0.0);
	fprintf(stderr, "\n");
	return 0;
}
