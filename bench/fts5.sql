-- The SQLite FTS5 baseline: the rows of bench/gen's ground truth in one FTS5
-- table, as someone would keep mail-log rows in a full-text store.
--
-- bench/run.sh feeds the sqlite3 command the truth file, then
-- bench/truth.sql (the rows the log names, in the temporary table t: the same
-- selection as bench/sqlite.sql's), then this script, and times the whole as
-- the baseline's ingest.
--
-- Searched columns (tokenizer unicode61, no diacritics removed): to_addr and
-- orig_to (addresses, lowercase), to_domain and orig_domain, subject, status,
-- sender, queue_id, message_id.  An address, a domain, a queue ID or a
-- message-id is matched as a phrase of its tokens ("bob@example.com" = bob
-- example com), then checked exactly on the column, as an application on
-- FTS5 would do.  The time is not indexed (FTS5 has no ranges): a time range
-- is checked on the rows that match the rest, newest first by sorting them.
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE VIRTUAL TABLE rows USING fts5(
	host UNINDEXED, queue_id,
	to_addr, orig_to, to_domain, orig_domain, subject, status, sender,
	message_id, client_ip UNINDEXED, time UNINDEXED,
	tokenize = "unicode61 remove_diacritics 0"
);
BEGIN;
INSERT INTO rows (host, queue_id, to_addr, orig_to, to_domain, orig_domain, subject, status, sender,
                  message_id, client_ip, time)
	SELECT host, queue_id, to_addr, orig_to,
	       substr(to_addr, instr(to_addr, '@') + 1),
	       CASE WHEN instr(orig_to, '@') THEN substr(orig_to, instr(orig_to, '@') + 1) ELSE '' END,
	       subject, status, sender, message_id, client_ip, time
	FROM t ORDER BY n;
COMMIT;
DROP TABLE t;
INSERT INTO rows (rows) VALUES ('optimize');
PRAGMA wal_checkpoint(TRUNCATE);
SELECT count(*) FROM rows;
