package rabbittest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	// binDir holds Debian's real RabbitMQ scripts. The wrappers in
	// /usr/sbin switch to the rabbitmq user and its /var/lib/rabbitmq;
	// these run as the caller, with the environment Start gives them.
	binDir = "/usr/lib/rabbitmq/bin"
	// readyTimeout bounds the node's boot, rabbitmqctl await_startup and
	// the management listener together: generous, for a loaded 2-core
	// machine (an idle one boots in about 5 seconds).
	readyTimeout = 3 * time.Minute
	// ctlTimeout bounds one rabbitmqctl run.
	ctlTimeout = 2 * time.Minute
	// portAttempts is how many times the node is started on newly chosen
	// ports when another process took a chosen one first.
	portAttempts = 3
	// pollInterval is how often readiness is polled.
	pollInterval = 100 * time.Millisecond
)

// errPortTaken reports that the node stopped because a chosen port was taken
// between choosing and binding it.
var errPortTaken = errors.New("address already in use")

// Server is a running RabbitMQ node, started by Start and stopped when the
// test ends.
type Server struct {
	// AMQPURL is amqp://127.0.0.1:<port>, without credentials or vhost.
	AMQPURL string
	// ManagementURL is the management plugin's HTTP API,
	// http://127.0.0.1:<port>.
	ManagementURL string
	// AdminUser and AdminPassword are an administrator (tag
	// administrator) with all permissions on the vhost "/". The node has
	// no other user: no guest.
	AdminUser, AdminPassword string

	tb       testing.TB
	dir      string
	node     string   // <name>@localhost
	env      []string // the node's and rabbitmqctl's environment
	epmdBin  string
	epmdPort int
	epmd     *process
	rabbit   *process
	client   *http.Client
}

// Start starts a RabbitMQ node on free loopback ports with its data, logs,
// config, Erlang cookie and epmd all private to tb.TempDir(), with the
// management plugin enabled (the messaging-topology operator speaks its HTTP
// API), and stops it (and its epmd) at cleanup, logging the end of its log
// when the test failed. It fails the test, naming `make kube`, when
// rabbitmq-server is not installed.
//
// The node runs as the current user from /usr/lib/rabbitmq/bin. Its epmd is
// started first, on a loopback socket Start opens and hands over (systemd
// socket activation), so no other node on the machine shares it and no port
// race can give the node someone else's epmd. The administrator comes from
// the config file's default_user: it exists from the first boot, no guest
// ever does, and its password is never on a command line.
func Start(tb testing.TB) *Server {
	tb.Helper()
	began := time.Now()
	serverBin := filepath.Join(binDir, "rabbitmq-server")
	if info, err := os.Stat(serverBin); err != nil || info.IsDir() {
		tb.Fatalf("rabbittest: %s is missing: run `make kube` (it installs Debian's rabbitmq-server)", serverBin)
	}
	epmdBin, err := exec.LookPath("epmd")
	if err != nil {
		tb.Fatalf("rabbittest: epmd is not on PATH: run `make kube` (it installs Debian's rabbitmq-server and Erlang)")
	}

	s := &Server{
		tb:            tb,
		dir:           tb.TempDir(),
		AdminUser:     "rabbittest-admin",
		AdminPassword: randomHex(16),
		client:        &http.Client{Timeout: 30 * time.Second},
	}
	tb.Cleanup(s.stop)
	if err := s.writeFiles(); err != nil {
		tb.Fatalf("rabbittest: %v", err)
	}
	if err := s.startEpmd(epmdBin); err != nil {
		tb.Fatalf("rabbittest: %v", err)
	}

	ctx, cancel := context.WithTimeout(tb.Context(), readyTimeout)
	defer cancel()
	if err := s.startNode(ctx, serverBin); err != nil {
		tb.Fatalf("rabbittest: %v", err)
	}
	tb.Logf("rabbittest: RabbitMQ node %s at %s (management %s) ready after %s",
		s.node, s.AMQPURL, s.ManagementURL, time.Since(began).Round(10*time.Millisecond))
	return s
}

// NodeName returns the node's Erlang name, <name>@localhost.
func (s *Server) NodeName() string { return s.node }

// Ctl runs rabbitmqctl against the node with args (rabbitmqctl -n <node>
// args...) and returns what it printed. It fails the test when rabbitmqctl
// fails. Each run starts an Erlang VM: about a second.
func (s *Server) Ctl(tb testing.TB, args ...string) string {
	tb.Helper()
	out, err := s.ctl(tb.Context(), args...)
	if err != nil {
		tb.Fatalf("rabbittest: rabbitmqctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// API calls the management HTTP API as the administrator: method on path
// below /api (such as "/vhosts/t1"; percent-encode names in it, "/" as %2F),
// with body as JSON when it is not nil. It fails the test unless the answer
// is 2xx, and returns the answer's body.
func (s *Server) API(tb testing.TB, method, path string, body any) []byte {
	tb.Helper()
	status, out, err := s.api(tb.Context(), method, path, body)
	if err != nil {
		tb.Fatalf("rabbittest: %s /api%s: %v", method, path, err)
	}
	if status/100 != 2 {
		tb.Fatalf("rabbittest: %s /api%s: %d %s", method, path, status, out)
	}
	return out
}

func (s *Server) api(ctx context.Context, method, path string, body any) (int, []byte, error) {
	var in io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		in = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.ManagementURL+"/api"+path, in)
	if err != nil {
		return 0, nil, err
	}
	req.SetBasicAuth(s.AdminUser, s.AdminPassword)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// writeFiles writes the Erlang cookie and the enabled-plugins file.
func (s *Server) writeFiles() error {
	home := filepath.Join(s.dir, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		return err
	}
	// The cookie is any string, private to the node and its CLI runs.
	if err := os.WriteFile(filepath.Join(home, ".erlang.cookie"), []byte(strings.ToUpper(randomHex(16))), 0o400); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.dir, "enabled_plugins"), []byte("[rabbitmq_management].\n"), 0o600)
}

// writeConfig writes rabbitmq.conf for a node whose management listener is
// on mgmtPort.
func (s *Server) writeConfig(mgmtPort int) error {
	conf := fmt.Sprintf(`management.tcp.ip = 127.0.0.1
management.tcp.port = %d
default_vhost = /
default_user = %s
default_pass = %s
default_user_tags.administrator = true
default_permissions.configure = .*
default_permissions.write = .*
default_permissions.read = .*
# A test machine's disk may be nearly full: do not block publishers.
disk_free_limit.absolute = 1MB
log.console = false
log.file.level = info
`, mgmtPort, s.AdminUser, s.AdminPassword)
	return os.WriteFile(filepath.Join(s.dir, "rabbitmq.conf"), []byte(conf), 0o600)
}

// environment is the node's and rabbitmqctl's environment: the caller's,
// without its RabbitMQ and Erlang settings, and everything pointed at the
// test's directory.
func (s *Server) environment() []string {
	return append(callerEnv(),
		"HOME="+filepath.Join(s.dir, "home"), // .erlang.cookie
		"RABBITMQ_NODENAME="+s.node,
		"RABBITMQ_MNESIA_BASE="+filepath.Join(s.dir, "mnesia"),
		"RABBITMQ_LOG_BASE="+filepath.Join(s.dir, "log"),
		"RABBITMQ_CONFIG_FILE="+filepath.Join(s.dir, "rabbitmq.conf"),
		"RABBITMQ_ADVANCED_CONFIG_FILE="+filepath.Join(s.dir, "advanced.config"), // none
		"RABBITMQ_CONF_ENV_FILE="+filepath.Join(s.dir, "rabbitmq-env.conf"),      // none: not /etc/rabbitmq's
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(s.dir, "enabled_plugins"),
		"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
		// rabbitmqctl is an Erlang node too: let the kernel choose its
		// distribution port rather than share 35672-35682 with every
		// other CLI run on the machine.
		"RABBITMQ_CTL_DIST_PORT_MIN=0",
		"RABBITMQ_CTL_DIST_PORT_MAX=0",
		"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}",
		"ERL_EPMD_PORT="+strconv.Itoa(s.epmdPort),
	)
}

// callerEnv is the caller's environment without its RabbitMQ, Erlang and
// socket activation settings and its HOME.
func callerEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "RABBITMQ_") || strings.HasPrefix(name, "ERL_") || strings.HasPrefix(name, "LISTEN_") || name == "HOME" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// startEpmd starts epmd on a loopback port the kernel chooses, through a
// listening socket it hands over (epmd -systemd takes it as fd 3): the port
// is never free for another process to take.
func (s *Server) startEpmd(bin string) error {
	s.epmdBin = bin
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("choosing epmd's port: %w", err)
	}
	s.epmdPort = l.Addr().(*net.TCPAddr).Port
	f, err := l.(*net.TCPListener).File()
	_ = l.Close() // f keeps the socket open
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }() // the child has its own copy
	// sd_listen_fds wants LISTEN_PID to be epmd's own pid: the shell's,
	// which exec keeps. epmd takes only sockets on its own port
	// (ERL_EPMD_PORT).
	env := append(callerEnv(), "LISTEN_FDS=1", "ERL_EPMD_PORT="+strconv.Itoa(s.epmdPort))
	p, err := s.start("epmd", "/bin/sh", env, []*os.File{f},
		"-c", `LISTEN_PID=$$ exec "$0" -systemd`, bin)
	if err != nil {
		return err
	}
	s.epmd = p
	return nil
}

// startNode starts rabbitmq-server on free loopback ports and waits until it
// is ready.
func (s *Server) startNode(ctx context.Context, bin string) error {
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(3)
		if err != nil {
			return err
		}
		amqpPort, mgmtPort, distPort := ports[0], ports[1], ports[2]
		if err := s.writeConfig(mgmtPort); err != nil {
			return err
		}
		for _, d := range []string{"mnesia", "log"} {
			if err := os.RemoveAll(filepath.Join(s.dir, d)); err != nil {
				return err
			}
		}
		// A new name each time: epmd may still list the node stopped
		// before this one.
		s.node = "rabbittest-" + randomHex(4) + "@localhost"
		s.env = s.environment()
		s.AMQPURL = "amqp://127.0.0.1:" + strconv.Itoa(amqpPort)
		s.ManagementURL = "http://127.0.0.1:" + strconv.Itoa(mgmtPort)
		p, err := s.start("rabbitmq-server", bin, append(s.env,
			"RABBITMQ_NODE_PORT="+strconv.Itoa(amqpPort),
			"RABBITMQ_DIST_PORT="+strconv.Itoa(distPort),
			// Without it (or RABBITMQ_ALLOW_INPUT or NOTIFY_SOCKET, which
			// change more), the script forks the VM behind a shell that
			// forwards signals, and a VM orphaned by a test binary killed
			// before its cleanups would live on: the parent-death signal
			// is not inherited. With it, the shell execs the VM, which is
			// then the process Start started.
			"detached=true",
		), nil)
		if err != nil {
			return err
		}
		s.rabbit = p
		err = s.waitReady(ctx, p)
		if err == nil {
			return nil
		}
		p.kill()
		if !errors.Is(err, errPortTaken) || attempt == portAttempts {
			return err
		}
		s.tb.Logf("rabbittest: %v; starting it on other ports", err)
	}
}

// waitReady waits until the node has registered with epmd, then runs
// rabbitmqctl await_startup (which fails at once for a node not yet
// registered), then polls the management API.
func (s *Server) waitReady(ctx context.Context, p *process) error {
	name, _, _ := strings.Cut(s.node, "@")
	failed := func(what string, cause error) error {
		// A listener that could not bind fails the boot with a long
		// report: look through all of it.
		all := s.nodeLog(-1)
		for _, sign := range []string{"eaddrinuse", "dist_port_already_used", "address already in use"} {
			if strings.Contains(all, sign) {
				return fmt.Errorf("%s: %w", what, errPortTaken)
			}
		}
		return fmt.Errorf("%s: %w; the end of its log:\n%s", what, cause, s.nodeLog(40))
	}
	if err := poll(ctx, p, func() bool { return epmdHas(s.epmdPort, name) }); err != nil {
		return failed("rabbitmq-server did not register with epmd", err)
	}
	if deadline, ok := ctx.Deadline(); ok {
		secs := strconv.Itoa(max(1, int(time.Until(deadline).Seconds())))
		if out, err := s.ctl(ctx, "await_startup", "--timeout", secs); err != nil {
			return failed("rabbitmqctl await_startup", fmt.Errorf("%w: %s", err, strings.TrimSpace(out)))
		}
	}
	if err := poll(ctx, p, func() bool {
		status, _, err := s.api(ctx, http.MethodGet, "/overview", nil)
		return err == nil && status == http.StatusOK
	}); err != nil {
		return failed("the management API did not answer", err)
	}
	select {
	case <-s.epmd.done:
		return fmt.Errorf("epmd exited; the end of %s:\n%s", s.epmd.log, s.epmd.tail(20))
	default:
	}
	return nil
}

// poll calls ready every pollInterval until it reports true, p exits or ctx
// ends.
func poll(ctx context.Context, p *process, ready func() bool) error {
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		if ready() {
			return nil
		}
		select {
		case <-p.done:
			if p.err != nil {
				return fmt.Errorf("exited: %w", p.err)
			}
			return errors.New("exited")
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s", readyTimeout)
		case <-ticker.C:
		}
	}
}

// epmdHas reports whether the epmd on port lists the node name: the
// NAMES_REQ of the epmd protocol (the reply is the port, then one line
// "name <name> at port <port>" per node).
func epmdHas(port int, name string) bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 2*time.Second)
	if err != nil {
		return false
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte{0, 1, 'n'}); err != nil {
		return false
	}
	reply, err := io.ReadAll(c)
	if err != nil || len(reply) < 4 {
		return false
	}
	return strings.Contains(string(reply[4:]), "name "+name+" at port ")
}

// ctl runs rabbitmqctl -n <node> args, its output going to a file (an Erlang
// VM may leave helpers behind that would hold a pipe open).
func (s *Server) ctl(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, ctlTimeout)
	defer cancel()
	out, err := os.CreateTemp(s.dir, "rabbitmqctl-*.out")
	if err != nil {
		return "", err
	}
	defer func() { _ = out.Close(); _ = os.Remove(out.Name()) }()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "rabbitmqctl"), append([]string{"-n", s.node}, args...)...)
	cmd.Dir = s.dir
	cmd.Env = s.env
	cmd.Stdout = out
	cmd.Stderr = out
	setProcAttr(cmd)
	cmd.Cancel = func() error { killGroup(cmd); return nil }
	runErr := cmd.Run()
	b, err := os.ReadFile(out.Name())
	if err != nil {
		return "", err
	}
	return string(b), runErr
}

// nodeLog returns the last n lines (n < 0: all) of the node's log file and
// of its standard output and error.
func (s *Server) nodeLog(n int) string {
	var parts []string
	if b, err := os.ReadFile(filepath.Join(s.dir, "log", s.node+".log")); err == nil {
		parts = append(parts, tailLines(string(b), n))
	}
	if s.rabbit != nil {
		parts = append(parts, s.rabbit.tail(n))
	}
	return strings.Join(parts, "\n--- standard output and error:\n")
}

// stop kills the node, then its epmd, and when the test failed logs the end
// of their logs. SIGKILL, not a clean stop: the data is thrown away, and a
// clean stop takes seconds.
func (s *Server) stop() {
	// An epmd that died early may have been replaced by one the node
	// started itself, as a daemon.
	replaced := s.epmd != nil && s.epmd.exited()
	if s.rabbit != nil {
		s.rabbit.kill()
	}
	if s.epmd != nil {
		s.epmd.kill()
	}
	if replaced {
		cmd := exec.Command(s.epmdBin, "-port", strconv.Itoa(s.epmdPort), "-kill")
		cmd.Env = callerEnv()
		_ = cmd.Run()
	}
	s.client.CloseIdleConnections()
	if s.tb.Failed() {
		if s.rabbit != nil {
			s.tb.Logf("rabbittest: the end of %s's log:\n%s", s.node, s.nodeLog(30))
		}
		if s.epmd != nil {
			if log := s.epmd.tail(10); log != "" {
				s.tb.Logf("rabbittest: the end of %s:\n%s", s.epmd.log, log)
			}
		}
	}
}

// freePorts returns n distinct loopback ports nothing listened on a moment
// ago (the node is started again when one was taken since).
func freePorts(n int) ([]int, error) {
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("choosing a free port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
