package engine

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Preflight is what the engine operations will use, checked once.
type Preflight struct {
	// Pulumi is the CLI's path and Version its version.
	Pulumi, Version string
	// Backend is the state backend's URL, and BackendSource where it came from.
	Backend, BackendSource string
	// Plugins are the paths of the provider plugins asked for, in order.
	Plugins []string
}

// Preflight checks, before a long-running process takes work, everything a
// stack operation needs from the machine: the pulumi CLI (found and of a
// version the Automation API accepts), the state backend (reachable, and for
// file:// writable) with its secrets passphrase, and the provider plugins
// named (binaries the engine cannot install, such as the local cloud's:
// providers.Cloud.Plugin), next to tenantfleet or on $PATH. The error names
// what is missing and how to get it.
func (rn *Runner) Preflight(ctx context.Context, backend string, plugins ...string) (Preflight, error) {
	var p Preflight
	cwd, _ := os.Getwd()
	pulumiPath, err := findPulumi(rn.ExeDir, cwd)
	if err != nil {
		return p, err
	}
	engine, err := rn.newEngineCommand(pulumiPath)
	if err != nil {
		return p, err
	}
	p.Pulumi, p.Version = pulumiPath, engine.Version().String()

	env, err := resolveEngineEnv(backend, rn.ExeDir, cwd, filepath.Dir(pulumiPath))
	if err != nil {
		return p, failedErrorf("%v", err)
	}
	if err := env.setProcessEnv(); err != nil {
		return p, failedErrorf("%v", err)
	}
	p.Backend, p.BackendSource = env.backendURL, env.backendSource
	if dir, ok := strings.CutPrefix(env.backendURL, "file://"); ok {
		dir = strings.SplitN(dir, "?", 2)[0]
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return p, usageErrorf("state backend %s (from %s): %v", env.backendURL, env.backendSource, err)
		}
		probe, err := os.CreateTemp(dir, ".preflight-")
		if err != nil {
			return p, usageErrorf("state backend %s (from %s) is not writable: %v", env.backendURL, env.backendSource, err)
		}
		// Only creating it was the question: the empty probe's close error
		// says nothing about the backend, and removing it is best effort.
		_ = probe.Close()
		_ = os.Remove(probe.Name())
	}
	// whoami logs in to the backend: it fails on a bad URL, missing
	// credentials or an unreachable bucket.
	scratch, err := os.MkdirTemp("", "tenantfleet-preflight-")
	if err != nil {
		return p, failedErrorf("%v", err)
	}
	defer func() { _ = os.RemoveAll(scratch) }() // best effort: only whoami ran in it
	var envList []string
	for k, v := range env.vars {
		envList = append(envList, k+"="+v)
	}
	if _, stderr, _, err := engine.Run(ctx, scratch, nil, nil, nil, envList, "whoami"); err != nil {
		return p, usageErrorf("state backend %s (from %s) is not usable: %s", env.backendURL, env.backendSource,
			strings.TrimSpace(engineErrorLines(StripColor(stderr))))
	}

	for _, plugin := range plugins {
		path := filepath.Join(rn.ExeDir, plugin)
		if !isExecutable(path) {
			found, err := exec.LookPath(plugin)
			if err != nil {
				return p, usageErrorf("the provider plugin %s is neither next to tenantfleet (%s) nor on $PATH; "+
					"run `make build`", plugin, rn.ExeDir)
			}
			path = found
		}
		p.Plugins = append(p.Plugins, path)
	}
	return p, nil
}

// String describes the preflight's findings in one line.
func (p Preflight) String() string {
	s := fmt.Sprintf("pulumi %s (%s), backend %s (from %s)", p.Version, p.Pulumi, p.Backend, p.BackendSource)
	for _, plugin := range p.Plugins {
		s += ", plugin " + plugin
	}
	return s
}
