-- The triage UI's alert history (router/internal/history), shared by every
-- replica so that each replica's UI searches, charts and counts what all of
-- them ingested. The same tables as the embedded SQLite history, with what
-- PostgreSQL does its own way: identity ids, the free-text index as a
-- tsvector column with a GIN index (the output line cut into runs of
-- letters and digits, as SQLite's FTS5 does), and a size per alert summed
-- in alert_usage (retention by bytes: table files do not shrink when rows
-- are deleted, so their size cannot tell how much the history holds).
CREATE TABLE alerts (
	id             bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	uuid           text    NOT NULL,
	ts             bigint  NOT NULL, -- Unix nanoseconds
	rule           text    NOT NULL,
	priority       integer NOT NULL,
	source         text    NOT NULL,
	hostname       text    NOT NULL,
	output         text    NOT NULL,
	tags           text    NOT NULL, -- JSON
	fields         text    NOT NULL, -- JSON
	finding        text    NOT NULL,
	finding_status text    NOT NULL,
	outputs        text    NOT NULL, -- JSON
	silences       text    NOT NULL, -- JSON
	size           bigint  NOT NULL, -- estimated bytes of the alert with its rows and index entries
	words          tsvector GENERATED ALWAYS AS (to_tsvector('simple', regexp_replace(output, '[^[:alnum:]]+', ' ', 'g'))) STORED
);
CREATE INDEX alerts_ts ON alerts (ts, id);
CREATE INDEX alerts_uuid ON alerts (uuid);
CREATE INDEX alerts_rule_ts ON alerts (rule, ts, id);
CREATE INDEX alerts_words ON alerts USING gin (words);
-- One row per (output field, value) of an alert, for exact field search;
-- tags are rows named #tag.
CREATE TABLE alert_fields (
	name     text   NOT NULL,
	value    text   NOT NULL,
	alert_id bigint NOT NULL,
	PRIMARY KEY (name, value, alert_id)
);
CREATE INDEX alert_fields_id ON alert_fields (alert_id);
-- Per-minute and per-hour counts per dimension, for the charts and top lists.
CREATE TABLE alert_counts (
	dim    text   NOT NULL,
	minute bigint NOT NULL,
	value  text   NOT NULL,
	n      bigint NOT NULL,
	PRIMARY KEY (dim, minute, value)
);
CREATE TABLE alert_counts_hour (
	dim   text   NOT NULL,
	hour  bigint NOT NULL,
	value text   NOT NULL,
	n     bigint NOT NULL,
	PRIMARY KEY (dim, hour, value)
);
-- The sum of alerts.size, in a few rows so that replicas writing at once
-- rarely wait for each other (each transaction adds to one random row).
CREATE TABLE alert_usage (
	shard integer PRIMARY KEY,
	bytes bigint  NOT NULL
);
