package localcloud

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	// pgSuperuser is the cluster's superuser; it can only log in over the
	// unix socket (trust), never over TCP (it has no password).
	pgSuperuser = "postgres"
	// pgStartTimeout bounds how long a starting server may take to accept
	// connections (crash recovery included).
	pgStartTimeout = 90 * time.Second
	// pgStopTimeout bounds a fast shutdown before it turns immediate.
	pgStopTimeout = 30 * time.Second
	// rootClustersDir holds clusters of a root runtime whose data directory
	// the postgres user cannot reach (for example under /root).
	rootClustersDir = "/var/lib/tenantfleet/local"
)

// errNoPostgres names the setup script when the server binaries are absent.
var errNoPostgres = errors.New("PostgreSQL server binaries (initdb, postgres) not found in /usr/lib/postgresql/*/bin nor in `pg_config --bindir`: run scripts/setup-local.sh")

// findPostgresBinDir finds the PostgreSQL server binaries the way
// scripts/setup-local.sh does: the highest /usr/lib/postgresql/<version>/bin,
// else `pg_config --bindir`.
func findPostgresBinDir() (string, error) {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	type candidate struct {
		version float64
		dir     string
	}
	var found []candidate
	for _, m := range matches {
		dir := filepath.Dir(m)
		v, err := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
		if err != nil || !isExecutable(filepath.Join(dir, "postgres")) {
			continue
		}
		found = append(found, candidate{v, dir})
	}
	if len(found) > 0 {
		sort.Slice(found, func(i, j int) bool { return found[i].version > found[j].version })
		return found[0].dir, nil
	}
	if pgConfig, err := exec.LookPath("pg_config"); err == nil {
		out, err := exec.Command(pgConfig, "--bindir").Output()
		if err == nil {
			dir := strings.TrimSpace(string(out))
			if isExecutable(filepath.Join(dir, "initdb")) && isExecutable(filepath.Join(dir, "postgres")) {
				return dir, nil
			}
		}
	}
	return "", errNoPostgres
}

// pgOwner is the OS account the server runs as: the runtime's own, or the
// postgres user when the runtime is root (PostgreSQL refuses to run as root).
type pgOwner struct {
	cred *syscall.Credential // nil: the runtime's own account
}

func currentPGOwner() (pgOwner, error) {
	if os.Geteuid() != 0 {
		return pgOwner{}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return pgOwner{}, fmt.Errorf("running as root, PostgreSQL must run as the postgres user, which does not exist: run scripts/setup-local.sh: %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return pgOwner{}, fmt.Errorf("postgres user uid %q: %w", u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return pgOwner{}, fmt.Errorf("postgres user gid %q: %w", u.Gid, err)
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if g, err := strconv.ParseUint(id, 10, 32); err == nil {
				cred.Groups = append(cred.Groups, uint32(g))
			}
		}
	}
	return pgOwner{cred: cred}, nil
}

// own hands path to the server's account.
func (o pgOwner) own(path string) error {
	if o.cred == nil {
		return nil
	}
	if err := os.Lchown(path, int(o.cred.Uid), int(o.cred.Gid)); err != nil {
		return fmt.Errorf("chown %s to postgres: %w", path, err)
	}
	return nil
}

// canReach reports whether the server's account may traverse every
// directory from / down to dir.
func (o pgOwner) canReach(dir string) bool {
	if o.cred == nil {
		return true
	}
	for d := dir; ; d = filepath.Dir(d) {
		var st syscall.Stat_t
		if err := syscall.Stat(d, &st); err != nil {
			return false
		}
		var bit uint32
		switch {
		case st.Uid == o.cred.Uid:
			bit = 0o100
		case st.Gid == o.cred.Gid || containsUint32(o.cred.Groups, st.Gid):
			bit = 0o010
		default:
			bit = 0o001
		}
		if st.Mode&bit == 0 {
			return false
		}
		if d == "/" || d == filepath.Dir(d) {
			return true
		}
	}
}

func containsUint32(xs []uint32, x uint32) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// postgresServer is the runtime's PostgreSQL cluster and its server process.
type postgresServer struct {
	log    *slog.Logger
	binDir string
	owner  pgOwner
	base   string // <dataDir>/postgres, symlinks resolved
	port   int    // set before start
	logTo  string // the server's stdout and stderr

	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{} // closed when cmd has exited
	stopping bool
	wg       sync.WaitGroup
}

func (p *postgresServer) dataDir() string { return filepath.Join(p.base, "data") }
func (p *postgresServer) sockDir() string { return filepath.Join(p.base, "run") }

// preparePostgres finds the binaries, lays out <dataDir>/postgres, runs
// initdb once and stops a server a killed predecessor left running (before
// the caller checks whether the cluster's port is free). A root runtime whose data directory the postgres user cannot
// reach keeps the cluster under /var/lib/tenantfleet/local and links it
// from <dataDir>/postgres.
func preparePostgres(ctx context.Context, l layout, log *slog.Logger) (*postgresServer, error) {
	binDir, err := findPostgresBinDir()
	if err != nil {
		return nil, err
	}
	owner, err := currentPGOwner()
	if err != nil {
		return nil, err
	}
	base, err := postgresBase(l, owner, log)
	if err != nil {
		return nil, err
	}
	p := &postgresServer{log: log, binDir: binDir, owner: owner, base: base, logTo: l.postgresLog()}
	if err := checkSocketPath(filepath.Join(p.sockDir(), ".s.PGSQL."+strconv.Itoa(65535))); err != nil {
		return nil, fmt.Errorf("postgres socket: %w", err)
	}
	for _, dir := range []string{p.sockDir()} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create %s: %w", dir, err)
		}
		if err := owner.own(dir); err != nil {
			return nil, err
		}
	}
	if err := p.initdb(ctx); err != nil {
		return nil, err
	}
	if err := p.stopOrphan(); err != nil {
		return nil, err
	}
	return p, nil
}

// postgresBase returns the directory holding the cluster and its socket.
func postgresBase(l layout, owner pgOwner, log *slog.Logger) (string, error) {
	link := l.postgresDir()
	if fi, err := os.Lstat(link); err == nil {
		if fi.Mode()&fs.ModeSymlink == 0 {
			return link, nil
		}
		target, err := filepath.EvalSymlinks(link)
		if err != nil {
			return "", fmt.Errorf("resolve %s: %w", link, err)
		}
		return target, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("stat %s: %w", link, err)
	}
	if owner.canReach(l.dataDir) {
		// Traversable by the server's account, nothing more.
		if err := os.Mkdir(link, 0o711); err != nil {
			return "", fmt.Errorf("create %s: %w", link, err)
		}
		return link, os.Chmod(link, 0o711)
	}
	if err := os.MkdirAll(rootClustersDir, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", rootClustersDir, err)
	}
	removeTempClusters(log)
	if !owner.canReach(rootClustersDir) {
		return "", fmt.Errorf("neither %s nor %s is reachable by the postgres user: use a data directory it can traverse (TENANTFLEET_LOCAL_DIR)", l.dataDir, rootClustersDir)
	}
	suffix := make([]byte, 8)
	if _, err := rand.Read(suffix); err != nil {
		return "", fmt.Errorf("name the cluster directory: %w", err)
	}
	target := filepath.Join(rootClustersDir, "pg-"+hex.EncodeToString(suffix))
	if err := os.Mkdir(target, 0o711); err != nil {
		return "", fmt.Errorf("create %s: %w", target, err)
	}
	if err := os.Chmod(target, 0o711); err != nil {
		return "", fmt.Errorf("chmod %s: %w", target, err)
	}
	if err := os.WriteFile(filepath.Join(target, clusterOwnerFile), []byte(l.dataDir), 0o600); err != nil {
		return "", fmt.Errorf("record the owner of %s: %w", target, err)
	}
	if err := os.Symlink(target, link); err != nil {
		return "", fmt.Errorf("link %s to %s: %w", link, target, err)
	}
	log.Info("the postgres user cannot reach the data directory; keeping the cluster outside it",
		"dataDir", l.dataDir, "cluster", target)
	return target, nil
}

// clusterOwnerFile, in a cluster directory under rootClustersDir, names the
// data directory that links to it.
const clusterOwnerFile = "owner"

// removeTempClusters removes the clusters under rootClustersDir that belonged
// to data directories under the temporary directory that no longer exist
// (tests running as root leave those behind). Clusters of other data
// directories are never removed: such a directory may have been moved.
func removeTempClusters(log *slog.Logger) {
	dirs, _ := filepath.Glob(filepath.Join(rootClustersDir, "pg-*"))
	for _, dir := range dirs {
		owner, err := os.ReadFile(filepath.Join(dir, clusterOwnerFile))
		if err != nil || !strings.HasPrefix(string(owner), os.TempDir()+string(filepath.Separator)) {
			continue
		}
		if _, err := os.Lstat(string(owner)); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "data", "postmaster.pid")); err == nil {
			continue // it may be running
		}
		if err := os.RemoveAll(dir); err != nil {
			log.Warn("remove the cluster of a deleted temporary data directory", "cluster", dir, "err", err)
			continue
		}
		log.Info("removed the cluster of a deleted temporary data directory", "cluster", dir, "dataDir", string(owner))
	}
}

// initdb creates the cluster unless it exists. It initializes a temporary
// directory and renames it, so an interrupted initdb is simply redone.
func (p *postgresServer) initdb(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(p.dataDir(), "PG_VERSION")); err == nil {
		return nil
	}
	if err := os.RemoveAll(p.dataDir()); err != nil {
		return fmt.Errorf("remove incomplete cluster %s: %w", p.dataDir(), err)
	}
	tmp := p.dataDir() + ".init"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("remove %s: %w", tmp, err)
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	if err := p.owner.own(tmp); err != nil {
		return err
	}
	p.log.Info("initializing the PostgreSQL cluster", "dir", p.dataDir())
	cmd := exec.CommandContext(ctx, filepath.Join(p.binDir, "initdb"),
		"-D", tmp,
		"-U", pgSuperuser,
		"--auth-local=trust",
		"--auth-host=scram-sha-256",
		"--encoding=UTF8",
		"--locale=C",
	)
	cmd.Env = serverEnv()
	cmd.Dir = p.base
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.owner.cred}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("initdb %s: %w: %s", p.dataDir(), err, lastLines(string(out), 20))
	}
	if err := os.Rename(tmp, p.dataDir()); err != nil {
		return fmt.Errorf("rename %s to %s: %w", tmp, p.dataDir(), err)
	}
	return nil
}

// serverEnv is the environment of initdb and postgres: PATH and the C locale.
func serverEnv() []string {
	env := []string{"LC_ALL=C", "LANG=C"}
	if path, ok := os.LookupEnv("PATH"); ok {
		env = append(env, "PATH="+path)
	}
	if tz, ok := os.LookupEnv("TZ"); ok {
		env = append(env, "TZ="+tz)
	}
	return env
}

// start starts the server and waits until it accepts connections.
func (p *postgresServer) start(ctx context.Context) error {
	if err := p.stopOrphan(); err != nil {
		return err
	}
	logf, err := os.OpenFile(p.logTo, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open postgres log: %w", err)
	}
	defer func() { _ = logf.Close() }() // postgres has its own descriptor; this one wrote nothing
	offset, _ := logf.Seek(0, 2)
	cmd := exec.Command(filepath.Join(p.binDir, "postgres"),
		"-D", p.dataDir(),
		"-p", strconv.Itoa(p.port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+p.sockDir(),
		"-c", "unix_socket_permissions=0700",
		"-c", "logging_collector=off",
	)
	cmd.Env = serverEnv()
	cmd.Dir = p.base
	cmd.Stdout = logf
	cmd.Stderr = logf
	// Its own process group: a Ctrl-C on the runtime's terminal reaches
	// the runtime only, which then shuts the server down in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: p.owner.cred}
	p.mu.Lock()
	if p.stopping {
		p.mu.Unlock()
		return errors.New("start postgres: the runtime is stopping")
	}
	if err := cmd.Start(); err != nil {
		p.mu.Unlock()
		return fmt.Errorf("start postgres: %w", err)
	}
	exited := make(chan struct{})
	p.cmd, p.exited = cmd, exited
	p.mu.Unlock()
	var ready atomic.Bool // set once it accepted connections
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		err := cmd.Wait()
		close(exited)
		p.mu.Lock()
		stopping := p.stopping
		p.mu.Unlock()
		// A server that never became ready is the starter's to report.
		if !stopping && ready.Load() {
			p.log.Error("postgres exited unexpectedly; restarting it", "err", err, "log", p.logTo)
			go p.restart()
		}
	}()

	deadline := time.Now().Add(pgStartTimeout)
	for {
		pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		conn, err := p.connect(pingCtx)
		cancel()
		if err == nil {
			_ = conn.Close(context.Background()) // a ping: the answer was all that was wanted
			if err := p.harden(ctx); err != nil {
				p.terminate(cmd, exited)
				return err
			}
			ready.Store(true)
			p.log.Info("postgres is ready", "port", p.port, "pid", cmd.Process.Pid)
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("postgres exited while starting: %s", readTail(p.logTo, offset, 2048))
		case <-ctx.Done():
			p.terminate(cmd, exited)
			return fmt.Errorf("start postgres: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.terminate(cmd, exited)
			return fmt.Errorf("postgres did not accept connections within %s: %s", pgStartTimeout, readTail(p.logTo, offset, 2048))
		}
	}
}

// harden keeps tenants out of the maintenance databases: PUBLIC may
// connect to postgres and template1 by default, and a tenant role needs
// neither.
func (p *postgresServer) harden(ctx context.Context) error {
	conn, err := p.connect(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.Background()) }() // the REVOKE's error is the one to report
	if _, err := conn.Exec(ctx, "REVOKE CONNECT, TEMPORARY ON DATABASE postgres, template1 FROM PUBLIC"); err != nil {
		return fmt.Errorf("revoke connect on the maintenance databases: %w", err)
	}
	return nil
}

// restart starts the server again after it died, retrying with backoff
// until it runs or the runtime stops it.
func (p *postgresServer) restart() {
	for delay := time.Second; ; delay = min(2*delay, 30*time.Second) {
		time.Sleep(delay)
		p.mu.Lock()
		stopping := p.stopping
		p.mu.Unlock()
		if stopping {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), pgStartTimeout)
		err := p.start(ctx)
		cancel()
		if err == nil {
			return
		}
		p.log.Error("restart postgres", "err", err)
	}
}

// stopOrphan stops a server that a previous runtime of this data directory
// left running (it was killed before it could stop it). Holding the data
// directory's lock, any live postmaster of this cluster is such an orphan.
func (p *postgresServer) stopOrphan() error {
	data, err := os.ReadFile(filepath.Join(p.dataDir(), "postmaster.pid"))
	if err != nil {
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(data), "\n", 2)[0]))
	if err != nil || pid <= 0 {
		return nil
	}
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	if err != nil {
		return nil // not running (or not ours to inspect)
	}
	want, _ := filepath.EvalSymlinks(p.dataDir())
	if cwd != want && cwd != p.dataDir() {
		return nil // the PID now belongs to another process
	}
	p.log.Warn("stopping a postgres server left running by a previous runtime", "pid", pid)
	_ = syscall.Kill(pid, syscall.SIGINT)
	if waitGone(pid, pgStopTimeout) {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGQUIT)
	if waitGone(pid, 5*time.Second) {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	if waitGone(pid, 5*time.Second) {
		return nil
	}
	return fmt.Errorf("postgres pid %d, left by a previous runtime, does not stop", pid)
}

// waitGone polls until pid no longer exists.
func waitGone(pid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// running reports whether the server process is alive.
func (p *postgresServer) running() bool {
	p.mu.Lock()
	exited := p.exited
	p.mu.Unlock()
	if exited == nil {
		return false
	}
	select {
	case <-exited:
		return false
	default:
		return true
	}
}

// stop shuts the server down for good (no more restarts).
func (p *postgresServer) stop() {
	p.mu.Lock()
	p.stopping = true
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd != nil {
		p.terminate(cmd, exited)
	}
	p.wg.Wait()
}

// terminate stops one server process: fast shutdown (SIGINT), then
// immediate (SIGQUIT) after pgStopTimeout, then SIGKILL.
func (p *postgresServer) terminate(cmd *exec.Cmd, exited chan struct{}) {
	for _, step := range []struct {
		sig     syscall.Signal
		timeout time.Duration
	}{{syscall.SIGINT, pgStopTimeout}, {syscall.SIGQUIT, 5 * time.Second}, {syscall.SIGKILL, 5 * time.Second}} {
		_ = cmd.Process.Signal(step.sig)
		select {
		case <-exited:
			p.log.Info("postgres stopped", "pid", cmd.Process.Pid)
			return
		case <-time.After(step.timeout):
			p.log.Warn("postgres did not stop in time", "signal", step.sig.String())
		}
	}
}

// connect opens an admin connection over the unix socket.
func (p *postgresServer) connect(ctx context.Context) (*pgx.Conn, error) {
	return p.connectTo(ctx, "postgres")
}

func (p *postgresServer) connectTo(ctx context.Context, database string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig("")
	if err != nil {
		return nil, fmt.Errorf("postgres connection config: %w", err)
	}
	cfg.Host = p.sockDir()
	cfg.Port = uint16(p.port)
	cfg.User = pgSuperuser
	cfg.Password = ""
	cfg.Database = database
	cfg.TLSConfig = nil
	cfg.Fallbacks = nil
	cfg.RuntimeParams = map[string]string{"application_name": "tenantfleet-local"}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	return conn, nil
}

// admin runs fn on a fresh admin connection to the postgres database.
func (p *postgresServer) admin(ctx context.Context, fn func(conn *pgx.Conn) error) error {
	if !p.running() {
		return errors.New("postgres is not running")
	}
	conn, err := p.connect(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.Background()) }() // fn's error is the one to report
	return fn(conn)
}
