-- The rows of bench/gen's ground truth that the SQLite baselines hold
-- (bench/fts5.sql, bench/sqlite.sql): one selection, so that both hold the
-- same rows and their answers are checked the same way.
--
-- bench/run.sh feeds the sqlite3 command the truth file (JSON Lines, one row
-- a line) loaded into the temporary table raw(j), then this script, then the
-- baseline's own script, and times the whole as that baseline's ingest:
--
--   .mode ascii
--   .separator "\037" "\n"
--   CREATE TEMP TABLE raw(j TEXT);
--   .import TRUTH raw
--
-- It leaves the temporary table t(n, host, queue_id, to_addr, orig_to,
-- subject, status, sender, message_id, client_ip, time): the rows that the
-- log names, the same rows mtalog can know.  The truth also lists recipients
-- that the log has not named yet (rows with status "queued", and the
-- recipients after the first of a held message, whose hold line names only
-- the first), and those are left out.  And a message refused after its queue
-- file exists (milter-reject) is logged with its envelope recipient, before
-- alias expansion: the truth's rows of it (to = the mailbox, orig_to = the
-- alias) become the one row the log names (to = the alias).  Addresses are
-- lowercase; absent values are empty strings; n is the truth's line number.
BEGIN;
CREATE TEMP TABLE t AS
	SELECT rowid AS n,
	       json_extract(j, '$.host') AS host, json_extract(j, '$.queue_id') AS queue_id,
	       lower(json_extract(j, '$.to')) AS to_addr, lower(json_extract(j, '$.orig_to')) AS orig_to,
	       json_extract(j, '$.subject') AS subject, json_extract(j, '$.status') AS status,
	       lower(json_extract(j, '$.from')) AS sender, json_extract(j, '$.message_id') AS message_id,
	       json_extract(j, '$.client_ip') AS client_ip, json_extract(j, '$.time') AS time
	FROM raw;
DROP TABLE raw;
DELETE FROM t WHERE status = 'queued';
DELETE FROM t WHERE status = 'quarantined' AND queue_id <> '' AND n NOT IN
	(SELECT min(n) FROM t WHERE status = 'quarantined' AND queue_id <> '' GROUP BY host, queue_id);
UPDATE t SET to_addr = orig_to, orig_to = '' WHERE status = 'blocked' AND queue_id <> '' AND orig_to <> '';
DELETE FROM t WHERE status = 'blocked' AND queue_id <> '' AND n NOT IN
	(SELECT min(n) FROM t WHERE status = 'blocked' AND queue_id <> '' GROUP BY host, queue_id, to_addr);
COMMIT;
