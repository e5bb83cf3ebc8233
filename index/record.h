/*
 * record.h — a message as stored bytes, and back.
 *
 * The value of `rec` (key: docid, 8 bytes big-endian) is
 *
 *   offset  size     meaning
 *   0       1        format: 0x02 = two zstd frames; 0x00 = plain encoding follows
 *   1       varint   dictionary id (0 = no dictionary)
 *   ..      varint   S, the length of the first frame
 *   ..      S        zstd frame: the summary (the plain encoding up to the rows)
 *   ..      rest     zstd frame: the raw part (nlines ... raw bytes)
 *
 * A search decodes only the summary (about a fifth of the bytes); `show`,
 * reloading a message in flight and reindexing decode both.
 *
 * The plain encoding (all integers LEB128 varints, strings varint length + bytes):
 *
 *   version (ML_RECORD_VERSION), flags (ML_MSG_*), direction, first_us, last_us - first_us,
 *   host, queue_id, from, message_id, subject, client_ip, client_name,
 *   sasl_user, helo, bounce_qid, orig_qid, prev_qid, next_qid,   (13 strings)
 *   size, nrcpt,
 *   nrcpts, then per row: to, orig_to, relay, dsn, reason (5 strings),
 *           zigzag(time_us - first_us), delay_ms, status, flags
 *   first_seq                                      (version 3)
 *   nlines, raw_dropped, raw length, raw bytes (lines each ending in '\n')
 *   nseq (nlines, or 0 when some line has no number), then each line's
 *   number in the ingest's stream, zigzag deltas   (version 3)
 * Version 2 records (no line numbers) are read as well.
 *
 * Compression: zstd with the current dictionary (trained by
 * ml_codec_train on the plain encodings of the first records of the
 * database, kept in `meta`).  A record names its dictionary, so records
 * written before a retrain stay readable as long as their dictionary is kept.
 *
 * ml_codec_t holds one CCtx, one DCtx and the digested dictionaries; one per
 * thread.  Decoded messages own their bytes (ml_message_t's buffers).
 */
#ifndef ML_RECORD_H
#define ML_RECORD_H

#include <stdint.h>

#include "engine/message.h"
#include "engine/util.h"

#define ML_RECORD_VERSION 3
#define ML_DICT_MAX_IDS 16
/* zstd level of the summary frame: a fast level, since every search decodes
 * it (0.35 us instead of 0.6 us a record, for about 35 bytes more) */
#define ML_SUMMARY_LEVEL (-1)

typedef struct ml_codec ml_codec_t;

int ml_codec_new(ml_codec_t **out, int level);
void ml_codec_free(ml_codec_t *c);
/* Register dictionary `id` (bytes copied); the highest id registered is used
 * for compression. */
int ml_codec_add_dict(ml_codec_t *c, uint32_t id, const void *dict, size_t n);
uint32_t ml_codec_dict_id(const ml_codec_t *c);  /* 0 when none */

/* Plain encoding of m, appended to out. */
int ml_record_encode_plain(const ml_message_t *m, ml_buf_t *out);
/* The same; *split gets the length of its summary part (all but the raw
 * lines), which is what the first frame holds. */
int ml_record_encode_parts(const ml_message_t *m, ml_buf_t *out, size_t *split);
/* Stored form of m (compressed), written to out (reset first). */
int ml_record_encode(ml_codec_t *c, const ml_message_t *m, ml_buf_t *out);
/* Decode stored bytes into m (reset first).  ML_ECORRUPT on bad bytes,
 * ML_ENOTFOUND when the record names a dictionary the codec lacks. */
int ml_record_decode(ml_codec_t *c, const void *p, size_t n, ml_message_t *m);
/* Decode the summary only: every field and row, no raw lines (m->raw empty,
 * m->nlines 0). */
int ml_record_decode_summary(ml_codec_t *c, const void *p, size_t n, ml_message_t *m);
/* Decode only the plain encoding. */
int ml_record_decode_plain(const void *p, size_t n, ml_message_t *m);

/*
 * Train a dictionary from samples (the plain encodings, concatenated, with
 * their sizes).  Writes the dictionary into out.  ML_EINVAL when the samples
 * are too few to train on.
 */
int ml_codec_train(const void *samples, const size_t *sizes, unsigned nsamples,
                   size_t dict_cap, ml_buf_t *out);

#endif
