#include "nexthop.h"

#define QID_MIN 5
#define QID_MAX 40

static int is_alnum(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
}

/* The queue ID at p (letters, digits, '-'): its length, 0 when not one. */
static size_t qid_at(const char *p, const char *end)
{
	size_t n = 0;
	while (p + n < end && (is_alnum(p[n]) || p[n] == '-'))
		n++;
	return n >= QID_MIN && n <= QID_MAX ? n : 0;
}

/* Where the last occurrence of lit in s starts, or NULL. */
static const char *last_of(ml_slice_t s, const char *lit)
{
	size_t n = strlen(lit);
	const char *last = NULL, *p = s.p, *end = s.p + s.n;
	while (p && (size_t)(end - p) >= n) {
		const char *hit = memmem(p, (size_t)(end - p), lit, n);
		if (hit)
			last = hit;
		p = hit ? hit + 1 : NULL;
	}
	return last;
}

/* Exim's message ID: 6-6-2 (old) or 6-11-4 base-62 characters. */
static int exim_id(const char *p, size_t n)
{
	static const size_t forms[2][3] = { { 6, 6, 2 }, { 6, 11, 4 } };
	for (int f = 0; f < 2; f++) {
		size_t want = forms[f][0] + forms[f][1] + forms[f][2] + 2, k = 0, ok = n == want;
		for (int part = 0; part < 3 && ok; part++) {
			for (size_t j = 0; j < forms[f][part] && ok; j++, k++)
				ok = is_alnum(p[k]);
			if (part < 2 && ok)
				ok = p[k++] == '-';
		}
		if (ok)
			return 1;
	}
	return 0;
}

ml_nexthop_form_t ml_nexthop_qid(ml_slice_t reply, ml_slice_t *qid)
{
	const char *end = reply.p + reply.n;
	*qid = ML_SLICE_NULL;
	const char *k = last_of(reply, "queued as ");
	if (k) {
		k += strlen("queued as ");
		size_t n = qid_at(k, end);
		if (!n)
			return ML_NEXTHOP_NONE;
		*qid = ml_slice(k, n);
		return ML_NEXTHOP_POSTFIX;
	}
	k = last_of(reply, "id=");
	if (k && (k == reply.p || k[-1] == ' ')) {
		k += 3;
		size_t n = qid_at(k, end);
		if (n && exim_id(k, n)) {
			*qid = ml_slice(k, n);
			return ML_NEXTHOP_EXIM;
		}
	}
	k = last_of(reply, " Message accepted for delivery");
	if (k) {
		/* the word before it */
		const char *st = k;
		while (st > reply.p && st[-1] != ' ')
			st--;
		size_t n = qid_at(st, k);
		if (n && st + n == k) {
			*qid = ml_slice(st, n);
			return ML_NEXTHOP_SENDMAIL;
		}
	}
	return ML_NEXTHOP_NONE;
}

ml_slice_t ml_nexthop_relay_ip(ml_slice_t relay)
{
	const char *open = NULL, *close = NULL;
	for (size_t i = relay.n; i > 0; i--) {
		if (!close && relay.p[i - 1] == ']')
			close = relay.p + i - 1;
		else if (close && relay.p[i - 1] == '[') {
			open = relay.p + i;
			break;
		}
	}
	if (!open)
		return ML_SLICE_NULL;
	ml_slice_t ip = ml_slice(open, (size_t)(close - open));
	if (ml_slice_starts(ip, "IPv6:") || ml_slice_starts(ip, "ipv6:"))
		ip = ml_slice(ip.p + 5, ip.n - 5);
	return ip;
}

ml_slice_t ml_nexthop_relay_name(ml_slice_t relay)
{
	size_t n = 0;
	while (n < relay.n && relay.p[n] != '[')
		n++;
	if (n == relay.n)
		return ML_SLICE_NULL;
	while (n > 0 && (relay.p[n - 1] == ' ' || relay.p[n - 1] == '.'))
		n--;
	return ml_slice(relay.p, n);
}
