//go:build !linux

package rabbittest

import "os/exec"

// setProcAttr does nothing: process groups and parent-death signals are
// set up on Linux only, where the tests run.
func setProcAttr(*exec.Cmd) {}

// killGroup kills the process itself.
func killGroup(cmd *exec.Cmd) { _ = cmd.Process.Kill() }
