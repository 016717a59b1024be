package kubetest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
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
	// readyTimeout bounds the wait for each of etcd, kube-apiserver and the
	// CRDs: generous, for a loaded 2-core machine.
	readyTimeout = 2 * time.Minute
	// portAttempts is how many times a component is started on newly chosen
	// ports when another process took a chosen one first.
	portAttempts = 3
	// pollInterval is how often readiness is polled.
	pollInterval = 100 * time.Millisecond
)

// errPortTaken reports that a component exited because a chosen port was
// taken between choosing and binding it.
var errPortTaken = errors.New("address already in use")

// Cluster is a running control plane, started by Start and stopped when the
// test ends. Its helpers speak to kube-apiserver as a member of
// system:masters, over TLS checked against the cluster's CA.
type Cluster struct {
	tb             testing.TB
	dir            string
	server         string
	kubeconfig     string
	kubeconfigPath string
	client         *http.Client
	token          string
	procs          []*process
	// topologyOperator is set once StartTopologyOperator has been called.
	topologyOperator bool
}

// Start starts etcd, kube-apiserver and kube-controller-manager (its
// namespace, garbagecollector and resourcequota controllers only) on free loopback ports,
// with their data, credentials, logs and a kubeconfig in tb.TempDir(); waits
// until kube-apiserver is ready; installs the embedded CRDs and waits until
// each is Established and served. tb.Cleanup stops the processes,
// kube-apiserver first, and logs the end of each one's log when the test
// failed. It fails the test when a binary is missing (run `make kube`) or a
// component does not come up.
func Start(tb testing.TB) *Cluster {
	tb.Helper()
	began := time.Now()
	root := repoRoot(tb)
	apiserverBin := binary(tb, root, "kube-apiserver")
	kcmBin := binary(tb, root, "kube-controller-manager")
	etcdBin, err := exec.LookPath("etcd")
	if err != nil {
		tb.Fatalf("kubetest: etcd is not on PATH: run `make kube` (it installs Debian's etcd-server)")
	}

	c := &Cluster{tb: tb, dir: tb.TempDir()}
	tb.Cleanup(c.stop)
	creds, err := writeCredentials(c.dir)
	if err != nil {
		tb.Fatalf("kubetest: %v", err)
	}
	c.token = creds.token
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(creds.caPEM) {
		tb.Fatalf("kubetest: cannot read the CA it generated")
	}
	c.client = &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		},
	}

	ctx, cancel := context.WithTimeout(tb.Context(), readyTimeout)
	defer cancel()
	etcdURL, err := c.startEtcd(ctx, etcdBin)
	if err != nil {
		tb.Fatalf("kubetest: %v", err)
	}
	if err := c.startAPIServer(ctx, apiserverBin, etcdURL, creds); err != nil {
		tb.Fatalf("kubetest: %v", err)
	}
	c.kubeconfig = kubeconfigYAML(c.server, creds.caPEM, creds.token)
	c.kubeconfigPath = filepath.Join(c.dir, "kubeconfig")
	if err := os.WriteFile(c.kubeconfigPath, []byte(c.kubeconfig), 0o600); err != nil {
		tb.Fatalf("kubetest: %v", err)
	}
	if _, err := c.start("kube-controller-manager", kcmBin, os.Environ(),
		"--kubeconfig", c.kubeconfigPath,
		// The namespace controller empties and removes a deleted namespace;
		// the garbage collector removes dependents and the foregroundDeletion
		// finalizer pulumi-kubernetes' deletes add. Without them a destroy
		// waits forever. The resource quota controller fills a
		// ResourceQuota's status, which pulumi-kubernetes waits for.
		"--controllers", "namespace,garbagecollector,resourcequota",
		"--leader-elect=false",
		"--secure-port", "0",
	); err != nil {
		tb.Fatalf("kubetest: %v", err)
	}

	ctx, cancel = context.WithTimeout(tb.Context(), readyTimeout)
	defer cancel()
	if err := c.installCRDs(ctx); err != nil {
		tb.Fatalf("kubetest: %v", err)
	}
	tb.Logf("kubetest: control plane at %s ready after %s (kubeconfig %s)",
		c.server, time.Since(began).Round(10*time.Millisecond), c.kubeconfigPath)
	return c
}

// Kubeconfig returns the contents of a kubeconfig for the cluster (YAML):
// its server, its CA inline, and a bearer token of system:masters.
func (c *Cluster) Kubeconfig() string { return c.kubeconfig }

// KubeconfigPath returns the path of a file holding Kubeconfig().
func (c *Cluster) KubeconfigPath() string { return c.kubeconfigPath }

// Server returns kube-apiserver's URL, https://127.0.0.1:<port>.
func (c *Cluster) Server() string { return c.server }

// startEtcd starts etcd on free loopback ports and waits until it is
// healthy. It returns its client URL.
func (c *Cluster) startEtcd(ctx context.Context, bin string) (string, error) {
	// etcd reads its flags from ETCD_* variables too: keep the caller's out.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ETCD_") {
			env = append(env, kv)
		}
	}
	health := &http.Client{Timeout: 2 * time.Second}
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(2)
		if err != nil {
			return "", err
		}
		clientURL := "http://127.0.0.1:" + strconv.Itoa(ports[0])
		peerURL := "http://127.0.0.1:" + strconv.Itoa(ports[1])
		data := filepath.Join(c.dir, "etcd")
		if err := os.RemoveAll(data); err != nil {
			return "", err
		}
		if err := os.Mkdir(data, 0o700); err != nil {
			return "", err
		}
		p, err := c.start("etcd", bin, env,
			"--name", "kubetest",
			"--data-dir", data,
			"--listen-client-urls", clientURL,
			"--advertise-client-urls", clientURL,
			"--listen-peer-urls", peerURL,
			"--initial-advertise-peer-urls", peerURL,
			"--initial-cluster", "kubetest="+peerURL,
		)
		if err != nil {
			return "", err
		}
		err = c.waitReady(ctx, p, func(ctx context.Context) bool {
			status, body, err := get(ctx, health, clientURL+"/health", "")
			return err == nil && status == http.StatusOK && strings.Contains(string(body), `"true"`)
		})
		if err == nil {
			return clientURL, nil
		}
		if !errors.Is(err, errPortTaken) || attempt == portAttempts {
			return "", err
		}
		c.tb.Logf("kubetest: etcd: %v; starting it on other ports", err)
	}
}

// startAPIServer starts kube-apiserver on a free loopback port and waits
// until its /readyz answers ok.
func (c *Cluster) startAPIServer(ctx context.Context, bin, etcdURL string, creds credentials) error {
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(1)
		if err != nil {
			return err
		}
		c.server = "https://127.0.0.1:" + strconv.Itoa(ports[0])
		p, err := c.start("kube-apiserver", bin, os.Environ(),
			"--etcd-servers", etcdURL,
			"--bind-address", "127.0.0.1",
			"--advertise-address", "127.0.0.1",
			"--secure-port", strconv.Itoa(ports[0]),
			"--cert-dir", filepath.Join(c.dir, "certs"),
			"--tls-cert-file", creds.servingCert,
			"--tls-private-key-file", creds.servingKey,
			"--token-auth-file", creds.tokens,
			"--authorization-mode", "RBAC",
			"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
			"--service-account-key-file", creds.saPublic,
			"--service-account-signing-key-file", creds.saPrivate,
			"--service-cluster-ip-range", "10.0.0.0/24",
			// No kubelets, no pods: nothing to reconcile the kubernetes
			// service's endpoints against, and no service account tokens to mount.
			"--endpoint-reconciler-type", "none",
			"--disable-admission-plugins", "ServiceAccount",
			// Without a bound, a SIGTERM waits for the controller-manager's
			// watches: stop then took the whole stopGrace.
			"--shutdown-watch-termination-grace-period", "1s",
		)
		if err != nil {
			return err
		}
		err = c.waitReady(ctx, p, func(ctx context.Context) bool {
			status, _, err := get(ctx, c.client, c.server+"/readyz", c.token)
			return err == nil && status == http.StatusOK
		})
		if err == nil {
			return nil
		}
		if !errors.Is(err, errPortTaken) || attempt == portAttempts {
			return err
		}
		c.tb.Logf("kubetest: kube-apiserver: %v; starting it on another port", err)
	}
}

// waitReady polls ready until it reports true, p exits or ctx ends.
func (c *Cluster) waitReady(ctx context.Context, p *process, ready func(context.Context) bool) error {
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		if ready(ctx) {
			return nil
		}
		select {
		case <-p.done:
			log := p.tail(30)
			if strings.Contains(log, "address already in use") {
				return fmt.Errorf("%s exited: %w", p.name, errPortTaken)
			}
			exit := p.err
			if exit == nil {
				exit = errors.New("exit status 0")
			}
			return fmt.Errorf("%s exited before it was ready (%w); the end of %s:\n%s", p.name, exit, p.log, log)
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s; the end of %s:\n%s", p.name, readyTimeout, p.log, p.tail(30))
		case <-ticker.C:
		}
	}
}

// stop stops the processes, kube-apiserver first, and, when the test
// failed, logs the end of each one's log.
func (c *Cluster) stop() {
	for _, name := range []string{"kube-apiserver", "kube-controller-manager", "etcd"} {
		for _, p := range c.procs {
			if p.name == name {
				p.stop()
			}
		}
	}
	if c.client != nil {
		c.client.CloseIdleConnections()
	}
	if c.tb.Failed() {
		for _, p := range c.procs {
			c.tb.Logf("kubetest: the end of %s:\n%s", p.log, p.tail(20))
		}
	}
}

// repoRoot returns the repository's root: the nearest directory holding
// go.mod above the working directory, which `go test` sets to the package's.
func repoRoot(tb testing.TB) string {
	tb.Helper()
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatalf("kubetest: %v", err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		if filepath.Dir(dir) == dir {
			tb.Fatalf("kubetest: no go.mod in %s or above it: run the test inside the repository", wd)
		}
	}
}

// binary returns root/bin/name, failing the test when it is not there.
func binary(tb testing.TB, root, name string) string {
	tb.Helper()
	path := filepath.Join(root, "bin", name)
	if info, err := os.Stat(path); err != nil || info.IsDir() || info.Mode().Perm()&0o111 == 0 {
		tb.Fatalf("kubetest: %s is missing: run `make kube` to build it", path)
	}
	return path
}

// freePorts returns n distinct loopback ports nothing listened on a moment
// ago (the components' start retries when one was taken since).
func freePorts(n int) ([]int, error) {
	// Each is held open until all n are chosen, so they differ.
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

// kubeconfigYAML returns a kubeconfig for server with ca inline and token.
func kubeconfigYAML(server string, ca []byte, token string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: kubetest
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: admin
  user:
    token: %s
contexts:
- name: kubetest
  context:
    cluster: kubetest
    user: admin
current-context: kubetest
`, server, base64.StdEncoding.EncodeToString(ca), token)
}
