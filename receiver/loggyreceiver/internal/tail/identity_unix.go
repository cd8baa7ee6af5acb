//go:build unix

package tail

import (
	"os"
	"syscall"
)

// IdentityOf returns the device and inode from a FileInfo of os.Stat, os.Lstat
// or File.Stat. It is the zero Identity if fi carries no syscall.Stat_t.
func IdentityOf(fi os.FileInfo) Identity {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return Identity{}
	}
	return Identity{Dev: uint64(st.Dev), Ino: uint64(st.Ino)} //nolint:unconvert // Dev and Ino widths differ between platforms
}
