/*
 * nexthop.h — the queue ID a delivery's reply gives the message at the next
 * hop, when the next hop is an MTA that says it.
 *
 * The replies, as the sending MTA logs them (Postfix "status=sent (...)",
 * Exim C="...", Sendmail "stat=Sent (...)"; over SMTP or LMTP alike):
 *
 *   form                 reply (the queue ID is QID)
 *   ML_NEXTHOP_POSTFIX   "250 2.0.0 Ok: queued as QID"
 *                        "250 2.0.0 Ok: 1900 bytes queued as QID" (BDAT)
 *                        "250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0
 *                        Ok: queued as QID" (a content filter's proxied reply:
 *                        the last "queued as" counts)
 *   ML_NEXTHOP_EXIM      "250 OK id=QID" (QID of Exim's form: 6-6-2 or 6-11-4
 *                        base-62 characters)
 *   ML_NEXTHOP_SENDMAIL  "250 2.0.0 QID Message accepted for delivery", and
 *                        Sendmail's own "QID Message accepted for delivery"
 *
 * A queue ID is 5 to 40 letters, digits or '-'.  Anything else (a mailbox
 * server's "Saved", a reply naming no ID) is ML_NEXTHOP_NONE.
 *
 * The returned slice points into the reply given.
 */
#ifndef ML_NEXTHOP_H
#define ML_NEXTHOP_H

#include "engine/util.h"

typedef enum {
	ML_NEXTHOP_NONE = 0,
	ML_NEXTHOP_POSTFIX,
	ML_NEXTHOP_EXIM,
	ML_NEXTHOP_SENDMAIL,
} ml_nexthop_form_t;

/* The next hop's queue ID named by reply (empty when none) and its form. */
ml_nexthop_form_t ml_nexthop_qid(ml_slice_t reply, ml_slice_t *qid);

/* The address inside the last [...] of a relay ("mx.example[192.0.2.1]:25",
 * "mx.example. [192.0.2.1]", "[127.0.0.1]"), "IPv6:" dropped; empty when none. */
ml_slice_t ml_nexthop_relay_ip(ml_slice_t relay);
/* The host name of a relay: what comes before its '[' (trailing dots and
 * spaces dropped); empty when none. */
ml_slice_t ml_nexthop_relay_name(ml_slice_t relay);

#endif
