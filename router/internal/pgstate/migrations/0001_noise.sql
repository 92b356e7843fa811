-- The noise stage's records: the same buckets and JSON records as the
-- embedded (bbolt) store, one row each. Columns beside val are what the
-- database needs to decide on its own: a finding's last sighting
-- (retention), a group's next digest (which replica flushes it), a
-- silence's held-back counter (incremented by every replica).
CREATE TABLE noise_records (
	bucket    text        NOT NULL,
	key       text        NOT NULL,
	val       bytea       NOT NULL,
	last_seen timestamptz,
	due_at    timestamptz,
	held_back bigint      NOT NULL DEFAULT 0,
	PRIMARY KEY (bucket, key)
);
CREATE INDEX noise_records_due ON noise_records (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX noise_records_last_seen ON noise_records (bucket, last_seen);
