package pgstate

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// tx is one transaction; puts and deletes are buffered and written in one
// statement each before the next read and at commit.
type tx struct {
	ctx  context.Context
	tx   *sql.Tx
	puts map[[2]string][]byte
	dels map[[2]string]bool
	dues map[[2]string]*time.Time
}

func (t *tx) Put(bucket, key string, val []byte) error {
	if t.puts == nil {
		t.puts = map[[2]string][]byte{}
	}
	k := [2]string{bucket, key}
	t.puts[k] = val
	delete(t.dels, k)
	return nil
}

func (t *tx) Delete(bucket, key string) error {
	if t.dels == nil {
		t.dels = map[[2]string]bool{}
	}
	k := [2]string{bucket, key}
	t.dels[k] = true
	delete(t.puts, k)
	return nil
}

// flush writes the buffered puts and deletes (in key order, as every
// transaction locks: no deadlock between two flushes).
func (t *tx) flush() error {
	if len(t.puts) > 0 {
		keys := make([][2]string, 0, len(t.puts))
		for k := range t.puts {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			return keys[i][0] < keys[j][0] || keys[i][0] == keys[j][0] && keys[i][1] < keys[j][1]
		})
		buckets, ks, vals := make([]string, len(keys)), make([]string, len(keys)), make([][]byte, len(keys))
		seen := make([]*time.Time, len(keys))
		for i, k := range keys {
			buckets[i], ks[i], vals[i] = k[0], k[1], t.puts[k]
			if k[0] == bucketFindings {
				var f struct {
					LastSeen time.Time `json:"last_seen"`
				}
				if json.Unmarshal(vals[i], &f) == nil {
					seen[i] = &f.LastSeen
				}
			}
		}
		if _, err := t.tx.ExecContext(t.ctx, `INSERT INTO noise_records (bucket, key, val, last_seen)
			SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::timestamptz[])
			ON CONFLICT (bucket, key) DO UPDATE SET val = excluded.val, last_seen = excluded.last_seen`,
			buckets, ks, vals, seen); err != nil {
			return fmt.Errorf("write noise records: %w", err)
		}
		t.puts = nil
	}
	if len(t.dels) > 0 {
		var buckets, ks []string
		for k := range t.dels {
			buckets, ks = append(buckets, k[0]), append(ks, k[1])
		}
		if _, err := t.tx.ExecContext(t.ctx, `DELETE FROM noise_records r USING unnest($1::text[], $2::text[]) AS d(bucket, key)
			WHERE r.bucket = d.bucket AND r.key = d.key`, buckets, ks); err != nil {
			return fmt.Errorf("delete noise records: %w", err)
		}
		t.dels = nil
	}
	if len(t.dues) > 0 {
		var buckets, ks []string
		var dues []*time.Time
		for k, d := range t.dues {
			buckets, ks, dues = append(buckets, k[0]), append(ks, k[1]), append(dues, d)
		}
		if _, err := t.tx.ExecContext(t.ctx, `UPDATE noise_records r SET due_at = d.due
			FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS d(bucket, key, due)
			WHERE r.bucket = d.bucket AND r.key = d.key`, buckets, ks, dues); err != nil {
			return fmt.Errorf("set due times: %w", err)
		}
		t.dues = nil
	}
	return nil
}

func (t *tx) Lock(bucket string, keys []string, fresh func(string) []byte) (map[string][]byte, map[string]bool, error) {
	if err := t.flush(); err != nil {
		return nil, nil, err
	}
	keys = append([]string(nil), keys...)
	sort.Strings(keys)
	inserted := map[string]bool{}
	if fresh != nil && len(keys) > 0 {
		vals := make([][]byte, len(keys))
		for i, k := range keys {
			vals[i] = fresh(k)
		}
		rows, err := t.tx.QueryContext(t.ctx, `INSERT INTO noise_records (bucket, key, val)
			SELECT $1, * FROM unnest($2::text[], $3::bytea[])
			ON CONFLICT (bucket, key) DO NOTHING RETURNING key`, bucket, keys, vals)
		if err != nil {
			return nil, nil, fmt.Errorf("insert %s: %w", bucket, err)
		}
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				rows.Close()
				return nil, nil, err
			}
			inserted[k] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, fmt.Errorf("insert %s: %w", bucket, err)
		}
	}
	rows, err := t.tx.QueryContext(t.ctx, `SELECT key, val, held_back FROM noise_records
		WHERE bucket = $1 AND key = ANY($2) ORDER BY key FOR UPDATE`, bucket, keys)
	if err != nil {
		return nil, nil, fmt.Errorf("lock %s: %w", bucket, err)
	}
	recs, err := scan(rows, bucket)
	return recs, inserted, err
}

func (t *tx) All(bucket string) (map[string][]byte, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	return all(t.ctx, t.tx, bucket)
}

func (t *tx) ClaimDue(bucket string, now time.Time) (map[string][]byte, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	rows, err := t.tx.QueryContext(t.ctx, `SELECT key, val, held_back FROM noise_records
		WHERE bucket = $1 AND due_at <= $2 ORDER BY key FOR UPDATE SKIP LOCKED`, bucket, now)
	if err != nil {
		return nil, fmt.Errorf("claim due %s: %w", bucket, err)
	}
	return scan(rows, bucket)
}

func (t *tx) SetDue(bucket, key string, at time.Time) error {
	if t.dues == nil {
		t.dues = map[[2]string]*time.Time{}
	}
	var due *time.Time
	if !at.IsZero() {
		due = &at
	}
	t.dues[[2]string{bucket, key}] = due
	return nil
}

func (t *tx) AddHeldBack(id string, n int64) error {
	if _, err := t.tx.ExecContext(t.ctx, `UPDATE noise_records SET held_back = held_back + $2 WHERE bucket = $3 AND key = $1`, id, n, bucketSilences); err != nil {
		return fmt.Errorf("count held back by silence %s: %w", id, err)
	}
	return nil
}

func (t *tx) TryLock(key int64) (bool, error) {
	var ok bool
	if err := t.tx.QueryRowContext(t.ctx, `SELECT pg_try_advisory_xact_lock($1)`, key).Scan(&ok); err != nil {
		return false, fmt.Errorf("advisory lock: %w", err)
	}
	return ok, nil
}

func (t *tx) Retain(cutoff time.Time, max int) (int, error) {
	if err := t.flush(); err != nil {
		return 0, err
	}
	res, err := t.tx.ExecContext(t.ctx, `WITH gone AS (
			SELECT key FROM noise_records WHERE bucket = $1 AND last_seen < $3
			UNION
			SELECT key FROM (SELECT key FROM noise_records WHERE bucket = $1 ORDER BY last_seen DESC NULLS LAST, key OFFSET $4) o
		)
		DELETE FROM noise_records WHERE bucket IN ($1, $2) AND key IN (SELECT key FROM gone)`,
		bucketFindings, bucketSamples, cutoff, max)
	if err != nil {
		return 0, fmt.Errorf("retention: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
