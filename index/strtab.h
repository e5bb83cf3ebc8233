/*
 * strtab.h — the string table of a database: the field values that rows
 * repeat (addresses, domains, subjects, client names and addresses, relays,
 * DSN codes, the common beginnings of server replies), each given a number
 * within its class, so that a row (index/record.h) names a frequent value by
 * its number instead of spelling it.  Decoding a number is an array lookup in
 * the stored bytes: no decompression, no copy of the table.
 *
 * Stored form (meta "strtab", index/store.h; integers u32 little-endian):
 *
 *   offset        size          meaning
 *   0             4             magic "MLS1"
 *   4             4             generation (> 0): each row names the table it
 *                               was written with, and a reader refuses a row
 *                               of another generation
 *   8             4             C = ML_SC__COUNT
 *   12            8*C           per class: index of its first entry, entry count
 *   12+8C         4             N, the number of entries
 *   16+8C         4*(N+1)       entry i is bytes [off[i], off[i+1]) of the text
 *   20+8C+4N      off[N]        the text
 *
 * Invariants: the classes' entries are consecutive and cover [0, N); offsets
 * ascend; within a class, entries are distinct and the most frequent come
 * first (small numbers, one-byte references).  ml_strtab_view checks all of
 * that once, so a lookup needs only its bounds check.
 *
 * Training (ml_strtab_train) counts the values of the first messages of a
 * database and keeps those seen at least twice; for server replies it counts
 * every beginning that ends before a space, with the row's own recipient
 * replaced by the byte 0x01 (so "250 2.0.0 <\1> Saved" is one entry for all
 * recipients).  A reindex trains a new table under the next generation and
 * rewrites every row with it in one transaction.
 *
 * Ownership: a view (ml_strtab_view) points into bytes it does not own — for
 * a reader, the map, valid until its transaction ends.  ml_strtab_copy makes
 * a table that owns its bytes (the writer's, which outlives transactions).
 * ml_strtab_index adds the hash index that encoding needs (value -> number);
 * ml_strtab_free releases what the table owns.
 */
#ifndef ML_STRTAB_H
#define ML_STRTAB_H

#include <stdint.h>

#include "engine/message.h"
#include "engine/util.h"

enum {
	ML_SC_HOST,     /* syslog host */
	ML_SC_ADDR,     /* whole addresses: sender, recipients, SASL user */
	ML_SC_DOMAIN,   /* the domain of an address not in ML_SC_ADDR */
	ML_SC_SUBJECT,
	ML_SC_IP,       /* client IP */
	ML_SC_NAME,     /* client name, HELO */
	ML_SC_RELAY,
	ML_SC_DSN,
	ML_SC_REPLY,    /* beginnings of a row's reason text (recipient as 0x01) */
	ML_SC_MSGDOM,   /* the domain of a message-id */
	ML_SC__COUNT
};

#define ML_STRTAB_MAX_BYTES ((size_t)4 << 20)
#define ML_STRTAB_MAX_ENTRIES 65536u   /* per class */

typedef struct {
	uint32_t gen;                       /* 0: the empty table (every value spelled) */
	uint32_t first[ML_SC__COUNT], count[ML_SC__COUNT];
	uint32_t n;
	const unsigned char *offs;          /* n + 1 little-endian u32 */
	const unsigned char *text;
	ml_buf_t own;                       /* the bytes, when the table owns them */
	uint32_t *slots;                    /* hash index: entry + 1, 0 empty */
	uint32_t nslots;                    /* a power of two */
	const void *src;                    /* the bytes viewed and their length: a */
	size_t src_n;                       /* reader viewing them again skips the checks */
} ml_strtab_t;

#define ML_STRTAB_INIT { 0 }

/* A table over stored bytes p[0..n) (not copied).  ML_ECORRUPT when they are
 * not a table. */
int ml_strtab_view(ml_strtab_t *t, const void *p, size_t n);
/* The same, owning a copy of the bytes. */
int ml_strtab_copy(ml_strtab_t *t, const void *p, size_t n);
void ml_strtab_free(ml_strtab_t *t);

/* Entry `code` of class cls; 0, or ML_ECORRUPT when there is none. */
static inline int ml_strtab_get(const ml_strtab_t *t, int cls, uint32_t code, ml_slice_t *out)
{
	if (code >= t->count[cls])
		return ML_ECORRUPT;
	uint32_t i = t->first[cls] + code, a, b;
	memcpy(&a, t->offs + 4 * (size_t)i, 4);
	memcpy(&b, t->offs + 4 * (size_t)i + 4, 4);
	/* ml_strtab_view checked the offsets once: the entry is within the bytes */
	ML_ASSERT(a <= b && t->text + b <= (const unsigned char *)t->src + t->src_n);
	*out = ml_slice((const char *)t->text + a, b - a);
	return ML_OK;
}

/* Build the index that ml_strtab_find needs (once; the table must stay put). */
int ml_strtab_index(ml_strtab_t *t);
/* The number of value p[0..n) in class cls: 1 with *code set, 0 when absent. */
int ml_strtab_find(const ml_strtab_t *t, int cls, const char *p, size_t n, uint32_t *code);

/* Train a table of generation gen from messages, written to out (reset first). */
int ml_strtab_train(ml_message_t *const *msgs, size_t n, uint32_t gen, ml_buf_t *out);

/* The reply text of row r of m with its recipient replaced by 0x01 (and a
 * 0x01 of the text by 0x01 0x02), appended to out: what ML_SC_REPLY holds. */
int ml_strtab_reply_mask(const ml_message_t *m, const ml_rcpt_t *r, ml_buf_t *out);
/* The reverse: masked text p[0..n) with `to` put back, appended to out. */
int ml_strtab_reply_unmask(const char *p, size_t n, ml_slice_t to, ml_buf_t *out);

#endif
