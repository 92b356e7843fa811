package server

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/pprof"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/lookout-sec/lookout/router/internal/queue"
)

// DeadLetters is what the admin API needs from the store.
type DeadLetters interface {
	DeadLetters(output string) ([]queue.DeadLetter, error)
	Replay(output string, ids []uint64) (int, error)
	Purge(output string, ids []uint64) (int, error)
}

// admin mounts the dead-letter API under /admin, guarded by the admin
// tokens (ingest tokens are not accepted):
//
//	GET  /admin/deadletters[?output=NAME]                 list (JSON array)
//	POST /admin/deadletters/replay[?output=NAME[&id=N…]]  re-queue; {"replayed":{"NAME":n}}
//	POST /admin/deadletters/purge?all=true | ?output=NAME&id=N…  delete; {"purged":{"NAME":n}}
//	GET  /admin/debug/pprof/...                           Go's profiler (admin.pprof: true)
func (s *server) admin(r chi.Router) {
	var hashes [][32]byte
	for _, t := range s.opts.AdminTokens {
		hashes = append(hashes, sha256.Sum256([]byte(t)))
	}
	r.Use(func(next http.Handler) http.Handler { return s.bearer(hashes, next) })
	r.Get("/deadletters", s.listDead)
	r.Post("/deadletters/replay", s.replayDead)
	r.Post("/deadletters/purge", s.purgeDead)
	if s.opts.Noise != nil {
		s.noiseRoutes(r)
	}
	if s.opts.Pprof {
		// pprof.Index serves named profiles by the path after /debug/pprof/.
		r.Handle("/debug/pprof/*", http.StripPrefix("/admin", http.HandlerFunc(pprof.Index)))
		r.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		r.HandleFunc("/debug/pprof/profile", pprof.Profile)
		r.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		r.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
}

// adminScope returns the outputs a request addresses and the ids it names.
func (s *server) adminScope(r *http.Request) ([]string, []uint64, error) {
	q := r.URL.Query()
	var ids []uint64
	for _, v := range q["id"] {
		id, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("id %q: not a number", v)
		}
		ids = append(ids, id)
	}
	name := q.Get("output")
	if name == "" {
		if len(ids) > 0 {
			return nil, nil, fmt.Errorf("ids are per output: add output=NAME")
		}
		return s.opts.Outputs, nil, nil
	}
	for _, o := range s.opts.Outputs {
		if o == name {
			return []string{name}, ids, nil
		}
	}
	return nil, nil, fmt.Errorf("output %q is not configured", name)
}

func (s *server) listDead(w http.ResponseWriter, r *http.Request) {
	names, _, err := s.adminScope(r)
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	out := []queue.DeadLetter{}
	for _, n := range names {
		d, err := s.opts.DeadLetters.DeadLetters(n)
		if err != nil {
			httpError(w, http.StatusInternalServerError, err.Error())
			return
		}
		out = append(out, d...)
	}
	writeJSON(w, out)
}

func (s *server) replayDead(w http.ResponseWriter, r *http.Request) {
	s.mutateDead(w, r, "replayed", false, s.opts.DeadLetters.Replay)
}

func (s *server) purgeDead(w http.ResponseWriter, r *http.Request) {
	s.mutateDead(w, r, "purged", true, s.opts.DeadLetters.Purge)
}

func (s *server) mutateDead(w http.ResponseWriter, r *http.Request, verb string, needAll bool, fn func(string, []uint64) (int, error)) {
	names, ids, err := s.adminScope(r)
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	if needAll && len(ids) == 0 && r.URL.Query().Get("all") != "true" {
		httpError(w, http.StatusBadRequest, "name the ids (output=NAME&id=N) or pass all=true")
		return
	}
	done := map[string]int{}
	for _, n := range names {
		c, err := fn(n, ids)
		if err != nil {
			httpError(w, http.StatusInternalServerError, err.Error())
			return
		}
		done[n] = c
		s.opts.Logger.Info("dead letters "+verb+" via the admin API", "output", n, "count", c)
	}
	writeJSON(w, map[string]any{verb: done})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
