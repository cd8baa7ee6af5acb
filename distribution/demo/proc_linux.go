package main

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts the collector in its own process group, so a Ctrl-C on the
// terminal reaches only the demo, which then stops the collector by its PID in
// order; and has the kernel send it SIGTERM should the demo die without
// stopping it, so nothing is left running.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
