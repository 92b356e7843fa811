// Package benchref loads the reference hooks the probe's benchmarks compare
// against: an empty tp_btf/sys_exit program (the floor every hook on that
// tracepoint pays) and one that writes a bare 64-byte ring-buffer record for
// each syscall of one process (the cheapest hook that reports anything).
// Only benchmarks use it; the sensor never loads these programs.
package benchref

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
)

// Regenerate with `make bpf` (needs clang-19); the output is committed.
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -cc clang-19 -target amd64,arm64 ref ../../../../bpf/benchref.bpf.c -- -O2 -g -Wall -I../../../../bpf/include -I../../../../bpf/headers

// Kind selects a reference hook.
type Kind int

const (
	// Empty is a sys_exit program that returns at once.
	Empty Kind = iota
	// BareRecord writes a 64-byte record for each syscall of the target
	// process and a reader drains them.
	BareRecord
)

// Hook is a loaded and attached reference program.
type Hook struct {
	objs   refObjects
	link   link.Link
	rd     *ringbuf.Reader
	done   chan struct{}
	Record uint64 // records read (BareRecord), valid after Close
}

// Attach loads and attaches the reference hook k; BareRecord writes records
// for process pid.
func Attach(ctx context.Context, k Kind, pid int) (*Hook, error) {
	spec, err := loadRef()
	if err != nil {
		return nil, fmt.Errorf("benchref: %w", err)
	}
	if err := spec.Variables["target"].Set(uint32(pid)); err != nil {
		return nil, fmt.Errorf("benchref: set target: %w", err)
	}
	h := &Hook{done: make(chan struct{})}
	if err := spec.LoadAndAssign(&h.objs, nil); err != nil {
		return nil, fmt.Errorf("benchref: load: %w", err)
	}
	prog := h.objs.EmptyHook
	if k == BareRecord {
		prog = h.objs.BareRecord
	}
	h.link, err = link.AttachTracing(link.TracingOptions{Program: prog})
	if err != nil {
		h.objs.Close()
		return nil, fmt.Errorf("benchref: attach: %w", err)
	}
	if k != BareRecord {
		close(h.done)
		return h, nil
	}
	h.rd, err = ringbuf.NewReader(h.objs.Ring)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("benchref: reader: %w", err)
	}
	go func() {
		defer close(h.done)
		var rec ringbuf.Record
		for ctx.Err() == nil {
			h.rd.SetDeadline(time.Now().Add(50 * time.Millisecond))
			for {
				err := h.rd.ReadInto(&rec)
				if errors.Is(err, os.ErrDeadlineExceeded) {
					break
				}
				if err != nil {
					return
				}
				h.Record++
			}
		}
	}()
	return h, nil
}

// Close detaches the program and stops the reader.
func (h *Hook) Close() error {
	var errs []error
	if h.link != nil {
		errs = append(errs, h.link.Close())
	}
	if h.rd != nil {
		errs = append(errs, h.rd.Close())
	}
	<-h.done
	errs = append(errs, h.objs.Close())
	return errors.Join(errs...)
}
