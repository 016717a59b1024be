//go:build !linux

package kubetest

import "os/exec"

// setProcAttr does nothing: only Linux kills a child when its parent dies.
func setProcAttr(*exec.Cmd) {}
