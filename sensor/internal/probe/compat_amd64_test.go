package probe

import (
	"encoding/binary"
	"os"
	"os/exec"
	"testing"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// ia32Binary is a minimal static i386 ELF program: read(-77, 0, 0) through
// int $0x80, then exit(0). The ia32 number of read (3) is close's number on
// x86_64, so a probe that misread 32-bit syscalls would report a close.
func ia32Binary() []byte {
	code := []byte{
		0xb8, 3, 0, 0, 0, // mov eax, 3 (read)
		0xbb, 0xb3, 0xff, 0xff, 0xff, // mov ebx, -77
		0x31, 0xc9, // xor ecx, ecx
		0x31, 0xd2, // xor edx, edx
		0xcd, 0x80, // int 0x80
		0xb8, 1, 0, 0, 0, // mov eax, 1 (exit)
		0x31, 0xdb, // xor ebx, ebx
		0xcd, 0x80, // int 0x80
	}
	const base, hdrs = 0x08048000, 52 + 32
	le := binary.LittleEndian
	b := []byte{0x7f, 'E', 'L', 'F', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	b = le.AppendUint16(b, 2)         // ET_EXEC
	b = le.AppendUint16(b, 3)         // EM_386
	b = le.AppendUint32(b, 1)         // EV_CURRENT
	b = le.AppendUint32(b, base+hdrs) // entry
	b = le.AppendUint32(b, 52)        // phoff
	b = le.AppendUint32(b, 0)         // shoff
	b = le.AppendUint32(b, 0)         // flags
	b = le.AppendUint16(b, 52)        // ehsize
	b = le.AppendUint16(b, 32)        // phentsize
	b = le.AppendUint16(b, 1)         // phnum
	b = append(b, 0, 0, 0, 0, 0, 0)   // shentsize, shnum, shstrndx
	size := uint32(hdrs + len(code))
	b = le.AppendUint32(b, 1)      // PT_LOAD
	b = le.AppendUint32(b, 0)      // offset
	b = le.AppendUint32(b, base)   // vaddr
	b = le.AppendUint32(b, base)   // paddr
	b = le.AppendUint32(b, size)   // filesz
	b = le.AppendUint32(b, size)   // memsz
	b = le.AppendUint32(b, 5)      // PF_R|PF_X
	b = le.AppendUint32(b, 0x1000) // align
	return append(b, code...)
}

// TestCompatSyscallsFiltered runs a 32-bit program: its syscalls are
// filtered, never decoded with x86_64 numbers.
func TestCompatSyscallsFiltered(t *testing.T) {
	requireKernel(t)
	bin := t.TempDir() + "/ia32"
	if err := os.WriteFile(bin, ia32Binary(), 0o755); err != nil {
		t.Fatal(err)
	}
	self := int64(os.Getpid())
	children := map[int64]bool{} // reader goroutine only
	h := startProbe(t, Config{Interest: types(event.TypeClose, event.TypeExecve, event.TypeProcexit)}, func(ev *event.Event) bool {
		if a := ev.Arg("ptid"); a != nil && a.Int == self {
			children[ev.PID] = true
		}
		return children[ev.PID]
	})
	cmd := exec.Command(bin)
	if err := cmd.Run(); err != nil {
		t.Skipf("skipped: cannot run a 32-bit program (no IA32 emulation?): %v", err)
	}
	pid := int64(cmd.Process.Pid)
	evs := h.waitFor("the 32-bit program's exit", func(evs []event.Event) bool {
		_, err := find(evs, func(e *event.Event) bool { return e.PID == pid && e.Type == event.TypeProcexit })
		return err == nil
	})
	if _, err := find(evs, func(e *event.Event) bool { return e.PID == pid && e.Type == event.TypeExecve }); err != nil {
		t.Errorf("no exec record of the 32-bit program")
	}
	for _, e := range evs {
		if e.PID == pid && e.Type == event.TypeClose {
			t.Errorf("a 32-bit read was reported as %s", describe(&e))
		}
	}
}
