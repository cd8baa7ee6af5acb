package tail

// Identity is a file's device and inode: it survives renames (kubelet
// rotation) and tells two files apart at one path.
type Identity struct{ Dev, Ino uint64 }
