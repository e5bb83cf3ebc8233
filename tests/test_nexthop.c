/*
 * Unit tests for engine/nexthop: the next hop's queue ID in the replies of
 * Postfix, Exim and Sendmail as the sending MTA logs them (SMTP and LMTP),
 * replies that name none, and the address and name of a relay.
 */
#include "testlib.h"

#include "engine/nexthop.h"

static void expect(const char *reply, ml_nexthop_form_t form, const char *qid)
{
	ml_slice_t q;
	ml_nexthop_form_t f = ml_nexthop_qid(ml_slice_cstr(reply), &q);
	if (f != form || q.n != strlen(qid) || (q.n && memcmp(q.p, qid, q.n) != 0))
		fail_msg("%s: form %d \"%.*s\", want %d \"%s\"", reply, f, (int)q.n, q.p, form, qid);
}

static void replies(void **state)
{
	(void)state;
	expect("250 2.0.0 Ok: queued as 8D0B5A827E6", ML_NEXTHOP_POSTFIX, "8D0B5A827E6");
	expect("250 2.0.0 Ok: 1900 bytes queued as 4Qx9Kq0Zc5z9rxl", ML_NEXTHOP_POSTFIX, "4Qx9Kq0Zc5z9rxl");
	/* a content filter's proxied reply: the last one counts */
	expect("250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 4PbT8T0ZN5z3tG3", ML_NEXTHOP_POSTFIX,
	       "4PbT8T0ZN5z3tG3");
	/* Sendmail logs the reply without its code */
	expect("Ok: queued as 1A2B3C", ML_NEXTHOP_POSTFIX, "1A2B3C");
	expect("250 OK id=1vXbBb-000002-CD", ML_NEXTHOP_EXIM, "1vXbBb-000002-CD");
	expect("250 OK id=1rYEqu-00000000PJq-1Iu0", ML_NEXTHOP_EXIM, "1rYEqu-00000000PJq-1Iu0");
	expect("250 2.0.0 x3ABB0b0000600 Message accepted for delivery", ML_NEXTHOP_SENDMAIL, "x3ABB0b0000600");
	expect("x3ABB0b0000600 Message accepted for delivery", ML_NEXTHOP_SENDMAIL, "x3ABB0b0000600");
	/* no queue ID */
	expect("250 2.0.0 <bob@example.com> 65teS48WZW+g9JqqT4eHwX Saved", ML_NEXTHOP_NONE, "");
	expect("delivered to maildir", ML_NEXTHOP_NONE, "");
	expect("250 OK", ML_NEXTHOP_NONE, "");
	expect("250 2.0.0 Ok: queued as ", ML_NEXTHOP_NONE, "");
	expect("250 2.0.0 Ok: queued as AB", ML_NEXTHOP_NONE, "");
	expect("250 OK id=12345", ML_NEXTHOP_NONE, "");          /* not of Exim's form */
	expect("250 2.0.0 uid=1vXbBb-000002-CD", ML_NEXTHOP_NONE, "");
	expect(" Message accepted for delivery", ML_NEXTHOP_NONE, "");
	expect("", ML_NEXTHOP_NONE, "");
}

static void relays(void **state)
{
	(void)state;
	struct { const char *relay, *ip, *name; } t[] = {
		{ "inner.example.com[10.0.0.2]:25", "10.0.0.2", "inner.example.com" },
		{ "10.77.0.2[10.77.0.2]:25", "10.77.0.2", "10.77.0.2" },
		{ "mx.example.com [203.0.113.5]:25", "203.0.113.5", "mx.example.com" },
		{ "pfinner.example.com. [10.3.0.2]", "10.3.0.2", "pfinner.example.com" },
		{ "[2001:db8::1]:25", "2001:db8::1", "" },
		{ "mx[IPv6:2001:db8::2]", "2001:db8::2", "mx" },
		{ "local", "", "" },
		{ "none", "", "" },
		{ "mx[10.0.0.1", "", "mx" },
	};
	for (size_t i = 0; i < ML_ARRAY_LEN(t); i++) {
		ml_slice_t ip = ml_nexthop_relay_ip(ml_slice_cstr(t[i].relay));
		ml_slice_t name = ml_nexthop_relay_name(ml_slice_cstr(t[i].relay));
		if (ip.n != strlen(t[i].ip) || (ip.n && memcmp(ip.p, t[i].ip, ip.n) != 0))
			fail_msg("%s: address \"%.*s\", want \"%s\"", t[i].relay, (int)ip.n, ip.p, t[i].ip);
		if (name.n != strlen(t[i].name) || (name.n && memcmp(name.p, t[i].name, name.n) != 0))
			fail_msg("%s: name \"%.*s\", want \"%s\"", t[i].relay, (int)name.n, name.p, t[i].name);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(replies),
		cmocka_unit_test(relays),
	};
	return TL_RUN_DEFAULT("nexthop", tests, NULL, NULL);
}
