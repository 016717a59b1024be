package rabbittest

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts the process in a group of its own, which killGroup
// kills, and has the kernel kill it when the test binary dies without
// running its cleanups (a panic, a -timeout).
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup sends SIGKILL to the process's group: the shell scripts exec
// the Erlang VM, whose helpers share its group.
func killGroup(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
