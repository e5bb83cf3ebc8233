/*
 * record.h — a message as stored bytes, and back: its row record (what a
 * search reads) and its raw record (its log lines, for `show` and reparse).
 *
 * ROW RECORD (table rows, key: docid) — read for every row a search returns,
 * so it is plain bytes, decoded by reading varints, never decompressed:
 *
 *   offset  size     meaning
 *   0       1        ML_ROW_FORMAT
 *   1       varint   generation of the string table the row was written with
 *                    (0: no table; every value spelled out)
 *   ..      varint   flags (ML_MSG_*)
 *   ..      varint   direction
 *   ..      varint   zigzag(first_us - docid's second * 1e6)
 *   ..      varint   zigzag(last_us - first_us)
 *   ..      13 strs  host(HOST) queue_id from(ADDR) message_id(MSGID) subject(SUBJECT)
 *                    client_ip(IP) client_name(NAME) sasl_user(ADDR) helo(NAME)
 *                    bounce_qid orig_qid prev_qid next_qid
 *   ..      varint   size, nrcpt, nrcpts
 *   per row:  5 strs to(ADDR) orig_to(ADDR) relay(RELAY) dsn(DSN) reason(REPLY),
 *             varint zigzag(time_us - first_us), delay_ms, status, flags
 *   ..      varint   first_seq (the number of its first line in the ingest's stream)
 *   ..      varint   where its lines are: 0 its own raw record under its docid
 *                    (raw.open); v > 0 the raw block number v of `raw`
 *                    (m->raw_key)
 *
 * A str of class C (index/strtab.h) is one varint v, then maybe bytes:
 *   v = 0              empty
 *   v & 1              entry v >> 1 of class C
 *   v & 3 == 2         spelled: (v >> 2) bytes of packed text follow
 *   v & 3 == 0, v > 0  composed, k = (v >> 2) - 1: for an address (message-id),
 *                      the local part (varint length, packed text), '@', entry
 *                      k of DOMAIN (MSGDOM); for a reply, entry k of REPLY
 *                      then the rest (varint length, packed text)
 * Packed text is the text but for runs of hexadecimal digits, which IDs are
 * full of (queue IDs, message-ids, the tokens of server replies): a byte 0
 * then t: t = 0 a NUL; 1..63 a run of t lowercase hex digits, 65..127 of
 * t - 64 uppercase ones, two to a byte (the last alone in the high half);
 * 128 (129) a lowercase (uppercase) UUID, 8-4-4-4-12 digits, in 16 bytes.
 * A reply is stored masked: its row's recipient as 0x01 0x01, a 0x01 of the
 * text as 0x01 0x02 (ml_strtab_reply_mask).  Strings without a class are
 * always spelled.
 *
 * RAW RECORD (table raw.open, key: docid) — the message's log lines, compressed:
 *
 *   offset  size     meaning
 *   0       1        ML_RAW_FORMAT
 *   1       varint   id of the zstd dictionary (0: none; meta "rawdict:" id)
 *   ..      4        xxh32 of the strings the lines were masked with (below)
 *   ..      rest     one zstd frame of the masked plain form: varint nlines,
 *                    varint raw_dropped, varint L, L bytes of masked lines
 *                    (each ending in '\n'), varint nseq (nlines, or 0 when a
 *                    line has no number), then each line's number in the
 *                    stream, zigzag deltas
 *
 * RAW BLOCK (table raw, key: its number, 8 bytes big-endian; numbers only
 * grow, so blocks are appended and their pages full) — the lines of messages
 * closed in one commit, in docid order, compressed together (a third smaller
 * than one frame a message: what one message's lines share with the next's),
 * cut at ML_RAWBLOCK_PLAIN plain bytes (512 KiB: 3% smaller than 128 KiB
 * and no slower to write, a frame paying once for the dictionary; reading
 * one message's lines decompresses its whole block, 0.3-0.5 ms where 128
 * KiB took 0.1) and compressed at ML_RAWBLOCK_LEVEL (a level of its own: a
 * block is written once, a record of a message in flight at every commit
 * that gives it lines; 5 made 1M's file 0.4% smaller for 1.7% more of
 * ingest's CPU, so both are at 4); each of their rows names the block:
 *
 *   offset  size     meaning
 *   0       1        ML_RAWBLOCK_FORMAT
 *   1       varint   dictionary id
 *   ..      8        first docid, big-endian
 *   ..      varint   n, the messages
 *   per message: varint docid - the previous (0 for the first), varint length
 *                    of its masked plain form, 2 bytes: the high half of the
 *                    xxh32 its mask strings give
 *   ..      rest     one zstd frame: the n masked plain forms, one after another
 *
 * Masking: the row's own strings (queue ID, message-id, sender, client name
 * and IP, HELO, SASL user, host; per row to, orig_to, relay, reason) are most
 * of what is unique in a message's lines, and the row holds them already, so
 * in the lines each occurrence (longest first, 3 bytes or more) becomes
 * 0x01 and one byte naming the string; a 0x01 of the lines becomes 0x01 0x00.
 * The lines compress to about half.  Decoding needs the row decoded first
 * (ml_raw_decode reads m's strings); the checksum catches a raw record read
 * against another row than the one it was written with.
 *
 * ml_codec_t holds one zstd compression and decompression context, the
 * digested dictionaries of raw records, the block being built and the last
 * block decoded (show and reparse read neighbours); one per thread.  Decoded messages
 * own their bytes (ml_message_t's buffers).
 */
#ifndef ML_RECORD_H
#define ML_RECORD_H

#include <stdint.h>

#include "engine/message.h"
#include "engine/util.h"
#include "index/strtab.h"

#define ML_ROW_FORMAT 0x10
#define ML_RAW_FORMAT 0x11
#define ML_RAWBLOCK_FORMAT 0x12
#define ML_RAWBLOCK_PLAIN (512u << 10)  /* plain bytes a block is cut at */
#define ML_RAW_LEVEL 4            /* zstd level of raw records */
#define ML_RAWBLOCK_LEVEL 4       /* zstd level of raw blocks */
#define ML_DICT_MAX_IDS 16
#define ML_ROW_MASK_ROWS 60       /* rows whose strings mask the raw lines */

typedef struct ml_codec ml_codec_t;

/* Row records.  encode writes all but where the lines are, which
 * ml_row_locate then appends (the writer knows it last); decode reads it into
 * m->raw_key. */
int ml_row_encode(const ml_strtab_t *t, const ml_message_t *m, ml_buf_t *out);
int ml_row_locate(ml_buf_t *row, uint64_t docid, uint64_t raw_key);
/* A row of the open tables (its lines its own record) made to name raw_key. */
int ml_row_relocate(ml_buf_t *row, uint64_t docid, uint64_t raw_key);
/* Decode into m (reset first; m->docid = docid).  ML_ECORRUPT on bad bytes or
 * a row of another table generation. */
int ml_row_decode(const ml_strtab_t *t, const void *p, size_t n, uint64_t docid, ml_message_t *m);
/* The same, with only the strings of `keep` (ML_DEC_*) read: the others are
 * left empty (skipped, not checked against the string table).  For walks
 * that look at a few fields of many rows (counting). */
#define ML_DEC_HOST       (1u << 0)
#define ML_DEC_QUEUE_ID   (1u << 1)
#define ML_DEC_FROM       (1u << 2)
#define ML_DEC_MSGID      (1u << 3)
#define ML_DEC_SUBJECT    (1u << 4)
#define ML_DEC_IP         (1u << 5)
#define ML_DEC_PREV_QID   (1u << 11)  /* (bits 6..12: the rest of the message's strings) */
#define ML_DEC_RCPT_ADDR  (1u << 13)  /* rows' to, orig_to */
#define ML_DEC_RCPT_TEXT  (1u << 14)  /* rows' relay, dsn, reason */
#define ML_DEC_ALL        0x7fffu
/* f (NULL: every row whole) says which rows a search may return, so that
 * the others are not read whole (a message to seven people of one domain
 * is decoded for the one row a search of an address returns):
 *   - to_dom (to_domn bytes, no '@'): a row whose to and orig_to are both of
 *     another domain (what follows an address's last '@', compared without
 *     case) is read without them: both empty, as if it had none;
 *   - want: with ML_DEC_RCPT_TEXT kept, a row's relay, dsn and reason are
 *     read only when want(ctx, m, row) says so, asked once the row's to,
 *     orig_to, time, delay, status and flags are read (the message's own
 *     fields are read by then). */
typedef struct {
	const char *to_dom;
	size_t to_domn;
	int (*want)(void *ctx, const ml_message_t *m, int row);
	void *ctx;
} ml_row_filter_t;
int ml_row_decode_some(const ml_strtab_t *t, const void *p, size_t n, uint64_t docid, ml_message_t *m,
                       uint32_t keep, const ml_row_filter_t *f);
/* The flags of a row record, without decoding the rest. */
int ml_row_peek_flags(const void *p, size_t n, uint32_t *flags);
/* Where a row's lines are (m->raw_key), read from its end. */
int ml_row_peek_raw_key(const void *p, size_t n, uint64_t *raw_key);
/* Set the direction of a row record in place: its varint is one byte, as is
 * the new value (an ml_direction_t).  ML_ECORRUPT on bad bytes. */
int ml_row_set_direction(void *p, size_t n, uint8_t direction);

/* Raw records. */
int ml_codec_new(ml_codec_t **out);
void ml_codec_free(ml_codec_t *c);
/* Register dictionary `id` (bytes copied); the highest id is used to compress. */
int ml_codec_add_dict(ml_codec_t *c, uint32_t id, const void *dict, size_t n);
uint32_t ml_codec_dict_id(const ml_codec_t *c);  /* 0 when none */
int ml_codec_has_dict(const ml_codec_t *c, uint32_t id);

/* The masked plain form of m's lines (what the frame holds), appended to out
 * (a dictionary's training sample; a block's part); *check (may be NULL)
 * gets the xxh32 of its mask strings. */
int ml_raw_plain(const ml_message_t *m, ml_buf_t *out, uint32_t *check);
/* The masked plain form stored in a raw record, appended to out. */
int ml_raw_plain_of(ml_codec_t *c, const void *p, size_t n, ml_buf_t *out, uint32_t *check);
/* Stored form of m's lines (out reset first). */
int ml_raw_encode(ml_codec_t *c, const ml_message_t *m, ml_buf_t *out);
/* The same from the plain form ml_raw_plain made and its check. */
int ml_raw_encode_plain(ml_codec_t *c, const void *plain, size_t n, uint32_t check, ml_buf_t *out);
/* A raw block: begin, add the messages in docid order (their masked plain
 * forms), finish into out (reset first). */
void ml_rawblk_begin(ml_codec_t *c);
int ml_rawblk_add(ml_codec_t *c, uint64_t docid, const void *plain, size_t n, uint32_t check);
size_t ml_rawblk_plain_bytes(const ml_codec_t *c);
size_t ml_rawblk_count(const ml_codec_t *c);
/* First and last docid added (0 when none). */
uint64_t ml_rawblk_first(const ml_codec_t *c);
uint64_t ml_rawblk_last(const ml_codec_t *c);
int ml_rawblk_finish(ml_codec_t *c, ml_buf_t *out);
/* Call fn for each message of a stored block, in order: its docid, masked
 * plain form (valid during the call) and check. */
int ml_rawblk_each(ml_codec_t *c, const void *p, size_t n,
                   int (*fn)(void *ctx, uint64_t docid, const void *plain, size_t len, uint32_t check), void *ctx);
/* The last docid a stored block holds. */
int ml_rawblk_last_of(const void *p, size_t n, uint64_t *last);
/* The parts of a stored block, added to the block being built (to append to
 * the last block of `raw` instead of starting a small one). */
int ml_rawblk_add_block(ml_codec_t *c, const void *p, size_t n);
/* Decode the lines of m (its row fields decoded, m->docid set) from a raw
 * record or the raw block that holds them.  ML_ENOTFOUND when it names a
 * dictionary the codec lacks; ML_ECORRUPT when m is not in the block. */
int ml_raw_decode(ml_codec_t *c, const void *p, size_t n, ml_message_t *m);
/* The dictionary id a raw record names (0: none; ML_ECORRUPT on bad bytes). */
int ml_raw_dict_of(const void *p, size_t n, uint32_t *id);

/* The whole message as one uncompressed string (its row spelled out, then
 * its lines' plain form), and back: for tests and tools that keep messages
 * outside a database.  Not a stored format: nothing reads it from a file. */
int ml_record_plain(const ml_message_t *m, ml_buf_t *out);
int ml_record_from_plain(const void *p, size_t n, ml_message_t *m);

/* Train a zstd dictionary from samples (concatenated, with their sizes),
 * written into out.  ML_EINVAL when they are too few. */
int ml_codec_train(const void *samples, const size_t *sizes, unsigned nsamples,
                   size_t dict_cap, ml_buf_t *out);

#endif
