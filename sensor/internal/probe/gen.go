package probe

// Regenerate with `make bpf` (needs clang-19). The output (*_bpfel.go and
// *_bpfel.o) is committed so `go build` never needs clang.
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -cc clang-19 -target amd64,arm64 -type event_hdr -type proc_hdr -type fd_info bpf ../../../bpf/probe.bpf.c -- -O2 -g -Wall -I../../../bpf/include -I../../../bpf/headers
