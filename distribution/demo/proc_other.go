//go:build !linux

package main

import "os/exec"

// setProcAttr: only Linux has the parent-death signal; elsewhere the collector
// stays in the demo's process group and is stopped by PID as usual.
func setProcAttr(*exec.Cmd) {}
