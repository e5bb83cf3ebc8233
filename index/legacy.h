/*
 * legacy.h — reading the records of schema 5, the layout before this one, so
 * that `mtalog upgrade` (index/upgrade.h) can carry a database over.
 *
 * A schema-5 record (table "rec", key: docid, 8 bytes big-endian) is
 *
 *   offset  size     meaning
 *   0       1        format: 0x02 = two zstd frames; 0x00 = plain encoding follows
 *   1       varint   dictionary id (0 = no dictionary; the bytes in meta "dict:" id BE32)
 *   ..      varint   S, the length of the first frame
 *   ..      S        zstd frame: the summary
 *   ..      rest     zstd frame: the raw part
 *
 * The plain encoding (LEB128 varints; strings varint length + bytes):
 *   version (2 or 3), flags, direction, first_us, zigzag(last_us - first_us),
 *   host, queue_id, from, message_id, subject, client_ip, client_name,
 *   sasl_user, helo, bounce_qid, orig_qid, prev_qid, next_qid, size, nrcpt,
 *   nrcpts, then per row: to, orig_to, relay, dsn, reason,
 *   zigzag(time_us - first_us), delay_ms, status, flags;
 *   first_seq (version 3); then the raw part: nlines, raw_dropped, raw length,
 *   raw bytes, and (version 3) nseq then each line's number, zigzag deltas.
 *
 * Nothing here writes: the layout is frozen.
 */
#ifndef ML_LEGACY_H
#define ML_LEGACY_H

#include <stdint.h>

#include "engine/message.h"
#include "engine/util.h"

#define ML_LEGACY_SCHEMA 5u
#define ML_LEGACY_DICTS 64

typedef struct ml_legacy_codec ml_legacy_codec_t;

int ml_legacy_codec_new(ml_legacy_codec_t **out);
void ml_legacy_codec_free(ml_legacy_codec_t *c);
/* Register dictionary `id` (its bytes are copied into a digested form). */
int ml_legacy_codec_add_dict(ml_legacy_codec_t *c, uint32_t id, const void *dict, size_t n);

/* Decode a schema-5 record whole into m (reset first).  ML_ECORRUPT on bad
 * bytes, ML_ENOTFOUND when it names a dictionary not registered. */
int ml_legacy_decode(ml_legacy_codec_t *c, const void *p, size_t n, ml_message_t *m);

#endif
