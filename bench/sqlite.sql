-- The SQLite B-tree baseline: the rows of bench/gen's ground truth in a plain
-- table with the indexes a DBA would add for the benchmark's questions, so
-- that each is answered by walking one index newest first and stopping at
-- the limit: no sort, no scan.
--
-- bench/run.sh feeds the sqlite3 command the truth file, then
-- bench/truth.sql (the rows the log names, in the temporary table t: the same
-- selection as bench/fts5.sql's), then this script, and times the whole as
-- the baseline's ingest.  Nothing is vacuumed: the file is measured as
-- loaded.
--
-- The table: one row per message x recipient, ids given in time order (the
-- rows are loaded sorted by time, as a log store appending in arrival order
-- would have them), time in seconds since 1970 (an integer: 1 to 6 bytes in
-- a record and in every index, instead of 20 as text); absent values (the
-- queue ID of a NOQUEUE reject, orig_to, message-id, subject, client IP) are
-- NULL, so that the indexes of mostly absent columns are partial.
--
-- The indexes, each ending in time, so that `WHERE col = ? ORDER BY time DESC
-- LIMIT 1000` walks the index backwards from the newest entry and stops at
-- the 1000th (and a time range is a range of the same index):
--   recipient        (to_addr, time), (orig_to, time) where orig_to is set
--   recipient domain (to_domain, time), (orig_domain, time) where set
--   status + domain  (status, to_domain, time), (status, orig_domain, time)
--   sender           (sender, time)
--   message-id       (message_id, time)
--   queue ID         (queue_id, time)
-- An address or a domain is a recipient or an orig_to: the query is the
-- UNION ALL of the two index walks, merged newest first (SQLite's MERGE of
-- ordered compound arms).  Subject words: an external-content FTS5 index of
-- the subject (its rowid is the row's id, so rowid order is time order), the
-- match walked in descending rowid and joined to the row by its id.
-- bench/baselines.sh writes the queries; EXPLAIN QUERY PLAN of each shows
-- no "SCAN rows" and no "USE TEMP B-TREE".
--
-- Load as an expert would: 4 KiB pages (the file system's), WAL, one
-- transaction for the rows, then the indexes built by sorting the whole
-- table (faster and denser than keeping them up to date row by row), with a
-- large cache and a second sorter thread; then ANALYZE.
PRAGMA page_size = 4096;
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA cache_size = -262144;
PRAGMA threads = 2;
CREATE TABLE rows (
	id INTEGER PRIMARY KEY,
	time INTEGER NOT NULL,
	host TEXT NOT NULL,
	queue_id TEXT,
	sender TEXT NOT NULL,
	sender_domain TEXT NOT NULL,
	to_addr TEXT NOT NULL,
	to_domain TEXT NOT NULL,
	orig_to TEXT,
	orig_domain TEXT,
	subject TEXT,
	status TEXT NOT NULL,
	message_id TEXT,
	client_ip TEXT
);
BEGIN;
INSERT INTO rows (time, host, queue_id, sender, sender_domain, to_addr, to_domain, orig_to, orig_domain,
                  subject, status, message_id, client_ip)
	SELECT unixepoch(time), host, nullif(queue_id, ''), sender,
	       CASE WHEN instr(sender, '@') THEN substr(sender, instr(sender, '@') + 1) ELSE '' END,
	       to_addr, substr(to_addr, instr(to_addr, '@') + 1),
	       nullif(orig_to, ''),
	       CASE WHEN instr(orig_to, '@') THEN substr(orig_to, instr(orig_to, '@') + 1) END,
	       nullif(subject, ''), status, nullif(message_id, ''), nullif(client_ip, '')
	FROM t ORDER BY time, n;
COMMIT;
DROP TABLE t;
BEGIN;
-- (the subject index first: merging its segments into one frees pages, which
-- the indexes below then fill)
CREATE VIRTUAL TABLE rows_subject USING fts5(
	subject, content = 'rows', content_rowid = 'id',
	tokenize = "unicode61 remove_diacritics 0"
);
INSERT INTO rows_subject (rows_subject) VALUES ('rebuild');
INSERT INTO rows_subject (rows_subject) VALUES ('optimize');
CREATE INDEX rows_to ON rows (to_addr, time);
CREATE INDEX rows_orig_to ON rows (orig_to, time) WHERE orig_to <> to_addr;
CREATE INDEX rows_to_domain ON rows (to_domain, time);
CREATE INDEX rows_orig_domain ON rows (orig_domain, time) WHERE orig_domain <> to_domain;
CREATE INDEX rows_status_to_domain ON rows (status, to_domain, time);
CREATE INDEX rows_status_orig_domain ON rows (status, orig_domain, time) WHERE orig_domain <> to_domain;
CREATE INDEX rows_sender ON rows (sender, time);
CREATE INDEX rows_message_id ON rows (message_id, time) WHERE message_id IS NOT NULL;
CREATE INDEX rows_queue_id ON rows (queue_id, time) WHERE queue_id IS NOT NULL;
COMMIT;
ANALYZE;
PRAGMA wal_checkpoint(TRUNCATE);
SELECT count(*) FROM rows;
