/*
 * tokens.h — the terms a message is indexed under, how query values are
 * normalized to the same form, and the posting keys built from them.
 *
 * A term key is one tag byte followed by the term bytes; index/postings.h
 * stores, for each term key and day, the docids of the messages that have it.
 *
 * Tags and terms:
 *
 *   tag  field                     term
 *   'f'  sender address            lowercased address ("" for the null sender <>)
 *   'F'  sender domain             lowercased text after the last '@'
 *   't'  recipient address         lowercased; both to= and orig_to= of each row
 *   'T'  recipient domain          as 'F', for both
 *   's'  subject word              ml_tokens_words() of the decoded subject
 *   'S'  row status                "delivered", ...; also "released" for a
 *                                  message released from quarantine
 *   'X'  row status × recipient    status '@' domain, e.g. "bounced@example.com",
 *        domain                    for both to= and orig_to= of each row: answers
 *                                  "bounced to @example.com" exactly, where the two
 *                                  lists 'S' and 'T' would meet in messages whose
 *                                  bounced row is another recipient's
 *   'd'  direction                 "inbound" / "outbound" / "internal"
 *   'i'  client IP                 lowercased as logged
 *   'm'  message-id                the first ML_ID_TERM_BYTES of the xxh3-64 of the
 *                                  message-id as logged (without <>), big-endian:
 *                                  message-ids are long and unique, so hashing
 *                                  shrinks them to a few bytes (40 bits: one day
 *                                  of a big server shares a term about once in
 *                                  ten million lookups); the check on the row
 *                                  keeps answers exact
 *   'h'  host                      lowercased syslog host
 *   'q'  queue ID                  the same of the queue ID as logged (case matters
 *                                  in long IDs); also the previous hop's of a
 *                                  chain
 *   'n'  next hop waited for       the same of next_qid while no row is handed on
 *                                  to it: a delivery whose reply named the next
 *                                  hop's queue ID, that hop not seen yet (so that
 *                                  its lines, ingested later, find this message)
 *
 * Words: maximal runs of ASCII letters and digits or of non-ASCII UTF-8
 * characters, lowercased (ASCII, Latin-1 supplement, Greek and Cyrillic
 * capitals), cut at ML_WORD_MAX bytes; punctuation outside ASCII (Latin-1's,
 * general, CJK and fullwidth punctuation) splits them.  Scripts written
 * without spaces (Chinese, Japanese kana and kanji, Korean) give each pair of
 * neighbouring characters as a word (bigrams: "会議の" gives "会議" and "議の"),
 * and a character alone between others as itself; a search word of such
 * text is the same pairs, all required.  Terms longer than ML_TERM_MAX bytes
 * are cut (searches cut the same way).
 */
#ifndef ML_TOKENS_H
#define ML_TOKENS_H

#include "engine/message.h"
#include "engine/util.h"

#define ML_TERM_MAX 400
#define ML_ID_TERM_BYTES 5   /* of the hash of a message-id or queue ID */
#define ML_WORD_MAX 64
enum {
	ML_TAG_FROM = 'f', ML_TAG_FROM_DOMAIN = 'F',
	ML_TAG_TO = 't', ML_TAG_TO_DOMAIN = 'T',
	ML_TAG_SUBJECT = 's', ML_TAG_STATUS = 'S', ML_TAG_DIRECTION = 'd', ML_TAG_STATUS_DOMAIN = 'X',
	ML_TAG_IP = 'i', ML_TAG_MSGID = 'm', ML_TAG_HOST = 'h', ML_TAG_QID = 'q',
	ML_TAG_NEXT_QID = 'n',
};

/* A list of keys in one buffer: each key is a 2-byte little-endian length
 * then the bytes. */
typedef struct {
	ml_buf_t buf;
	uint32_t count;
} ml_keys_t;

void ml_keys_reset(ml_keys_t *k);
void ml_keys_free(ml_keys_t *k);
int ml_keys_add(ml_keys_t *k, int tag, const char *p, size_t n, int lower);
/* Iterate: *pos starts at 0; returns 1 with key/len set, 0 at the end. */
int ml_keys_next(const ml_keys_t *k, size_t *pos, const char **key, size_t *len);

/* All term keys of a message, sorted and unique. */
int ml_tokens_message(const ml_message_t *m, ml_keys_t *out);

/* The keys of m that the chains' hops are looked up by (index/../engine/
 * correlate.h: ML_HOP_BY_*): 't' of each row's addresses, 'q' and 'n', made
 * as ml_tokens_message makes them; not sorted, maybe repeated. */
int ml_tokens_hop_keys(const ml_message_t *m, ml_keys_t *out);

/* Call fn for each word of text (already lowercased into a scratch buffer).
 * Returns the number of words. */
typedef void (*ml_word_fn)(void *ctx, const char *w, size_t n);
size_t ml_tokens_words(const char *text, size_t n, ml_word_fn fn, void *ctx);

/* Lowercase one UTF-8 string the way words are lowercased (appends). */
int ml_tokens_lower(ml_buf_t *out, const char *p, size_t n);

/* The 'm' term of a message-id, the 'q' term of a queue ID: ML_ID_TERM_BYTES into out. */
void ml_msgid_term(const char *id, size_t n, unsigned char out[ML_ID_TERM_BYTES]);
void ml_qid_term(const char *id, size_t n, unsigned char out[ML_ID_TERM_BYTES]);

/* The 'X' term of a status and a recipient domain (appends). */
int ml_status_domain_term(ml_buf_t *out, const char *status, const char *d, size_t n);

/* The domain part of an address (after the last '@'); empty if none. */
ml_slice_t ml_addr_domain(ml_slice_t addr);
/* Is d (n bytes) the domain of addr, as ml_addr_domain gives it, without
 * case? */
int ml_addr_in_domain(ml_slice_t addr, const char *d, size_t n);

#endif
