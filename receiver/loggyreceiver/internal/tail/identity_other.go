//go:build !unix

package tail

import "os"

// IdentityOf is the zero Identity where there are no inodes: the receiver
// targets Linux nodes; this only keeps the package building elsewhere.
func IdentityOf(os.FileInfo) Identity { return Identity{} }
