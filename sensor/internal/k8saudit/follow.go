package k8saudit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// FollowOptions configures Follow.
type FollowOptions struct {
	// FromStart reads the file from its beginning; by default reading
	// starts at its end (only new events). A file that appears after a
	// rotation is always read from its beginning.
	FromStart bool
	// Poll is how often the file is checked for new data and rotation
	// (default 250ms).
	Poll time.Duration
}

// Follow reads the audit log file at path (kube-apiserver
// --audit-log-path: one JSON Event per line) as it grows, and evaluates
// each line, until ctx is done. It follows rotation: when path names
// another file (renamed and recreated, as --audit-log-maxsize does) the
// old file is read to its end and the new one from its start; a file
// truncated in place (found shorter than what was read, as logrotate's
// copytruncate leaves it) is read again from its start. A line over
// Options.MaxBodyBytes is skipped and counted; a line that is not an
// Event is logged and counted. A missing file is waited for.
func (s *Source) Follow(ctx context.Context, path string, opts FollowOptions) error {
	if opts.Poll <= 0 {
		opts.Poll = 250 * time.Millisecond
	}
	f := &follower{s: s, path: path, opts: opts, buf: make([]byte, 64<<10)}
	defer f.close()
	first := true
	for {
		if f.file == nil {
			if err := f.open(first && !opts.FromStart); err != nil {
				return err
			}
			if f.file != nil {
				first = false
			} else if first && !f.warned {
				s.log.Info("k8s_audit: waiting for the audit log file", "path", path)
				f.warned = true
			}
		}
		if f.file != nil {
			if err := f.drain(); err != nil {
				return err
			}
			if err := f.checkRotation(); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(opts.Poll):
		}
	}
}

type follower struct {
	s       *Source
	path    string
	opts    FollowOptions
	file    *os.File
	info    os.FileInfo
	off     int64
	buf     []byte
	pending []byte
	skip    bool // discarding the rest of an oversized line
	warned  bool
}

func (f *follower) close() {
	if f.file != nil {
		_ = f.file.Close()
		f.file = nil
	}
}

// open opens path (nil file if it does not exist yet), at its end if atEnd.
func (f *follower) open(atEnd bool) error {
	file, err := os.Open(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sources.k8s_audit.log_file %s: %w", f.path, err)
	}
	info, err := file.Stat()
	if err != nil {
		_ = file.Close()
		return fmt.Errorf("sources.k8s_audit.log_file %s: %w", f.path, err)
	}
	f.file, f.info, f.off, f.pending, f.skip = file, info, 0, f.pending[:0], false
	if atEnd {
		if f.off, err = file.Seek(0, io.SeekEnd); err != nil {
			return fmt.Errorf("sources.k8s_audit.log_file %s: %w", f.path, err)
		}
	}
	f.s.log.Info("k8s_audit: following the audit log", "path", f.path, "offset", f.off)
	return nil
}

// drain reads the open file to its current end, evaluating whole lines.
func (f *follower) drain() error {
	for {
		n, err := f.file.Read(f.buf)
		if n > 0 {
			f.off += int64(n)
			f.lines(f.buf[:n])
		}
		if errors.Is(err, io.EOF) || n == 0 && err == nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", f.path, err)
		}
	}
}

// lines splits data into lines, keeping an unfinished last line.
func (f *follower) lines(data []byte) {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			if !f.skip {
				f.pending = append(f.pending, data...)
				if int64(len(f.pending)) > f.s.opts.MaxBodyBytes {
					f.tooLarge()
				}
			}
			return
		}
		if f.skip {
			f.skip = false
		} else {
			line := data[:i]
			if len(f.pending) > 0 {
				f.pending = append(f.pending, line...)
				line = f.pending
			}
			if int64(len(line)) > f.s.opts.MaxBodyBytes {
				f.tooLarge()
				f.skip = false
			} else {
				f.line(line)
			}
			f.pending = f.pending[:0]
		}
		data = data[i+1:]
	}
}

func (f *follower) tooLarge() {
	f.s.reject("file", "too_large")
	f.s.log.Warn("k8s_audit: skipped an audit log line over the size limit", "path", f.path, "limit", f.s.opts.MaxBodyBytes, "err", errTooLarge)
	f.pending, f.skip = f.pending[:0], true
}

func (f *follower) line(line []byte) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return
	}
	if _, err := f.s.Process("file", line); err != nil {
		f.s.log.Warn("k8s_audit: skipped an audit log line", "path", f.path, "offset", f.off, "err", err)
	}
}

// checkRotation reopens path when it names another file now, or rewinds a
// file truncated below what was read.
func (f *follower) checkRotation() error {
	info, err := os.Stat(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // rotated away, not recreated yet: keep the old file
	}
	if err != nil {
		return fmt.Errorf("stat %s: %w", f.path, err)
	}
	if !os.SameFile(info, f.info) {
		if err := f.drain(); err != nil { // what was written before the rename
			return err
		}
		f.close()
		f.s.log.Info("k8s_audit: audit log rotated", "path", f.path)
		return f.open(false)
	}
	if info.Size() < f.off {
		f.s.log.Info("k8s_audit: audit log truncated, reading it from the start", "path", f.path)
		if _, err := f.file.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("seek %s: %w", f.path, err)
		}
		f.off, f.pending, f.skip = 0, f.pending[:0], false
	}
	return nil
}
