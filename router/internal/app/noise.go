package app

import (
	"time"

	"github.com/lookout-sec/lookout/router/internal/config"
	"github.com/lookout-sec/lookout/router/internal/noise"
	"github.com/lookout-sec/lookout/router/internal/queue"
)

// NoiseStore lets the noise stage keep its records in the queue's file.
type NoiseStore struct{ *queue.Store }

// Update runs fn in a transaction of its own.
func (s NoiseStore) Update(fn func(noise.Writer) error) error {
	return s.Store.Update(func(w queue.Writer) error { return fn(w) })
}

// NoiseConfig builds the noise stage's config from the router's.
func NoiseConfig(cfg *config.Config) noise.Config {
	n := cfg.Noise
	nc := noise.Config{
		LearnFor: n.Baseline.LearnFor, MaxAge: n.Retention.MaxAge, MaxFindings: n.Retention.MaxFindings,
	}
	for _, f := range n.Fingerprints {
		nc.Fingerprints = append(nc.Fingerprints, noise.FingerprintRule{Rules: f.Rules, Fields: f.Fields})
	}
	for _, s := range n.Silences {
		nc.Silences = append(nc.Silences, noise.Silence{
			ID: noise.ConfigSilenceID(s.Parsed), Matchers: s.Parsed, StartsAt: s.StartsAt, EndsAt: s.EndsAt,
			CreatedBy: s.CreatedBy, Comment: s.Comment, MarkExpected: s.MarkExpected,
		})
	}
	for _, o := range cfg.Outputs {
		p := o.Noise
		nc.Policies = append(nc.Policies, noise.Policy{
			Name: o.Name, Record: p.Record, New: p.Notify == "new", RepeatInterval: p.RepeatInterval,
			GroupBy: p.GroupBy, GroupWait: p.GroupWait, GroupInterval: p.GroupInterval,
		})
	}
	return nc
}

// stateTimeout is state.postgres.timeout (0: the stage's default).
func stateTimeout(cfg *config.Config) time.Duration {
	return cfg.State.Postgres.Timeout
}
