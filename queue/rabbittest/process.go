package rabbittest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// process is a running program, its output going to log.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed once the process has exited and err is set
	err  error
}

// start starts bin with args, env and extra files (fds 3 and up), its
// output going to <name>.log in the server's directory, in a process group
// of its own.
func (s *Server) start(name, bin string, env []string, extra []*os.File, args ...string) (*process, error) {
	logPath := filepath.Join(s.dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = s.dir
	cmd.Env = env
	cmd.Stdout = f
	cmd.Stderr = f
	cmd.ExtraFiles = extra
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = f.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has exited.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill kills the process's group and waits until the process has exited.
func (p *process) kill() {
	if p.exited() {
		return
	}
	killGroup(p.cmd)
	<-p.done
}

// tail returns the last n lines of the process's output.
func (p *process) tail(n int) string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return err.Error()
	}
	return tailLines(string(b), n)
}

// tailLines returns the last n lines of s, all of them when n < 0.
func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if n >= 0 && len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
