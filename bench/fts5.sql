-- The SQLite FTS5 baseline: the rows of bench/gen's ground truth in one FTS5
-- table, as someone would keep mail-log rows in a full-text store.
--
-- bench/run.sh feeds this script to the sqlite3 command after loading the
-- truth file (JSON Lines, one row a line) into the temporary table raw(j):
--
--   .mode ascii
--   .separator "\037" "\n"
--   CREATE TEMP TABLE raw(j TEXT);
--   .import TRUTH raw
--
-- and times the whole as the baseline's ingest.
--
-- The table holds the rows that the log names, the same rows mtalog can know:
-- the truth also lists recipients that the log has not named yet (rows with
-- status "queued", and the recipients after the first of a held message,
-- whose hold line names only the first), and those are left out.  And a
-- message refused after its queue file exists (milter-reject) is logged with
-- its envelope recipient, before alias expansion: the truth's rows of it
-- (to = the mailbox, orig_to = the alias) become the one row the log names
-- (to = the alias).
--
-- Searched columns (tokenizer unicode61, no diacritics removed): to_addr and
-- orig_to (addresses, lowercase), to_domain and orig_domain, subject, status,
-- sender.  An address or a domain is matched as a phrase of its tokens
-- ("bob@example.com" = bob example com), then checked exactly on the column,
-- as an application on FTS5 would do.
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE VIRTUAL TABLE rows USING fts5(
	host UNINDEXED, queue_id UNINDEXED,
	to_addr, orig_to, to_domain, orig_domain, subject, status, sender,
	message_id UNINDEXED, client_ip UNINDEXED, time UNINDEXED,
	tokenize = "unicode61 remove_diacritics 0"
);
BEGIN;
CREATE TEMP TABLE t AS
	SELECT rowid AS n,
	       json_extract(j, '$.host') AS host, json_extract(j, '$.queue_id') AS queue_id,
	       lower(json_extract(j, '$.to')) AS to_addr, lower(json_extract(j, '$.orig_to')) AS orig_to,
	       json_extract(j, '$.subject') AS subject, json_extract(j, '$.status') AS status,
	       lower(json_extract(j, '$.from')) AS sender, json_extract(j, '$.message_id') AS message_id,
	       json_extract(j, '$.client_ip') AS client_ip, json_extract(j, '$.time') AS time
	FROM raw;
DELETE FROM t WHERE status = 'queued';
DELETE FROM t WHERE status = 'quarantined' AND queue_id <> '' AND n NOT IN
	(SELECT min(n) FROM t WHERE status = 'quarantined' AND queue_id <> '' GROUP BY host, queue_id);
UPDATE t SET to_addr = orig_to, orig_to = '' WHERE status = 'blocked' AND queue_id <> '' AND orig_to <> '';
DELETE FROM t WHERE status = 'blocked' AND queue_id <> '' AND n NOT IN
	(SELECT min(n) FROM t WHERE status = 'blocked' AND queue_id <> '' GROUP BY host, queue_id, to_addr);
INSERT INTO rows (host, queue_id, to_addr, orig_to, to_domain, orig_domain, subject, status, sender,
                  message_id, client_ip, time)
	SELECT host, queue_id, to_addr, orig_to,
	       substr(to_addr, instr(to_addr, '@') + 1),
	       CASE WHEN instr(orig_to, '@') THEN substr(orig_to, instr(orig_to, '@') + 1) ELSE '' END,
	       subject, status, sender, message_id, client_ip, time
	FROM t ORDER BY n;
COMMIT;
DROP TABLE t;
DROP TABLE raw;
INSERT INTO rows (rows) VALUES ('optimize');
PRAGMA wal_checkpoint(TRUNCATE);
SELECT count(*) FROM rows;
