package rabbittest

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// TestStart starts two nodes side by side and checks what the queue tests
// rely on: the administrator over AMQP, the management API and rabbitmqctl,
// no guest, an epmd of each node's own, the VM as Start's own child, and
// nothing left once the test ends.
func TestStart(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs RabbitMQ (drop -short to run it)")
	}
	var servers [2]*Server
	t.Run("nodes", func(t *testing.T) {
		for i := range servers {
			t.Run(strconv.Itoa(i), func(t *testing.T) {
				t.Parallel()
				s := Start(t)
				servers[i] = s
				checkServer(t, s)
			})
		}
	})
	if t.Failed() {
		return
	}
	if servers[0].node == servers[1].node || servers[0].epmdPort == servers[1].epmdPort || servers[0].AMQPURL == servers[1].AMQPURL {
		t.Errorf("the nodes share a name, epmd or port: %+v, %+v", servers[0], servers[1])
	}
	// The subtests' cleanups have run: the nodes and their epmds are gone.
	for _, s := range servers {
		for _, p := range []*process{s.rabbit, s.epmd} {
			if err := syscall.Kill(p.cmd.Process.Pid, 0); !errors.Is(err, syscall.ESRCH) {
				t.Errorf("%s (pid %d) still running: %v", p.name, p.cmd.Process.Pid, err)
			}
		}
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(s.epmdPort)); err == nil {
			_ = c.Close()
			t.Errorf("epmd's port %d still accepts connections", s.epmdPort)
		}
	}
}

func checkServer(t *testing.T, s *Server) {
	t.Helper()
	conn, err := amqp.DialConfig(s.AMQPURL, amqp.Config{SASL: []amqp.Authentication{&amqp.PlainAuth{Username: s.AdminUser, Password: s.AdminPassword}}, Vhost: "/"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare("probe", true, false, false, false, amqp.Table{"x-queue-type": "quorum"}); err != nil {
		t.Fatal(err)
	}
	if err := ch.PublishWithContext(t.Context(), "", "probe", true, false, amqp.Publishing{Body: []byte("hello")}); err != nil {
		t.Fatal(err)
	}
	var got amqp.Delivery
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		d, ok, err := ch.Get("probe", true)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			got = d
			break
		}
	}
	if string(got.Body) != "hello" {
		t.Errorf("got %q from the quorum queue, want hello", got.Body)
	}

	if _, err := amqp.Dial(strings.Replace(s.AMQPURL, "amqp://", "amqp://guest:guest@", 1)); err == nil {
		t.Error("guest signed in")
	}
	if whoami := string(s.API(t, "GET", "/whoami", nil)); !strings.Contains(whoami, `"administrator"`) {
		t.Errorf("GET /api/whoami: %s", whoami)
	}
	users := s.Ctl(t, "list_users", "--silent")
	if !strings.Contains(users, s.AdminUser) || strings.Contains(users, "guest") {
		t.Errorf("rabbitmqctl list_users:\n%s", users)
	}
	// The VM is the process Start started, not a child of it: what the
	// cleanup waits for and what the kernel kills when the test binary
	// dies.
	if pid, want := strings.TrimSpace(s.Ctl(t, "eval", "os:getpid().")), strconv.Quote(strconv.Itoa(s.rabbit.cmd.Process.Pid)); pid != want {
		t.Errorf("the VM's pid is %s, want %s (the process Start started)", pid, want)
	}
	name, _, _ := strings.Cut(s.node, "@")
	if !epmdHas(s.epmdPort, name) {
		t.Errorf("epmd on port %d does not list %s", s.epmdPort, name)
	}
	if epmdHas(4369, name) {
		t.Errorf("the machine's epmd lists %s", name)
	}
}
