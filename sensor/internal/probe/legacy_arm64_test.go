package probe

// legacyFileCalls: arm64 has no open, creat, link, symlink, rename, unlink,
// mkdir, rmdir or chmod syscalls.
func legacyFileCalls(string) []call { return nil }
