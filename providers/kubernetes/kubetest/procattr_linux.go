package kubetest

import (
	"os/exec"
	"syscall"
)

// setProcAttr has the kernel kill the component when the test binary dies
// without running its cleanups (a panic, a -timeout).
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
