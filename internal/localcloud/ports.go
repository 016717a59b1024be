package localcloud

import (
	"fmt"
	"net"
	"strconv"
)

// freePort asks the kernel for a free loopback TCP port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free loopback port: %w", err)
	}
	defer func() { _ = ln.Close() }() // only its port was wanted
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// portFree reports whether port can be bound on 127.0.0.1 right now.
func portFree(port int) bool {
	if port <= 0 || port > 65535 {
		return false
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = ln.Close() // only the bind was a question
	return true
}

// keepOrPickPort returns want when it is free, else a new free port.
func keepOrPickPort(want int) (int, error) {
	if portFree(want) {
		return want, nil
	}
	return freePort()
}

// keepSavedPort returns the port a server or web process had before the
// runtime restarted (saved, 0 for none) when it is still free, else a new
// free port and a warning for the runtime's log and status: whatever was
// given the old port (a tenant's DATABASE_PORT, QUEUE_URL or web URL, a
// stack's outputs) is stale until the stacks are refreshed and updated.
func keepSavedPort(what string, saved int) (port int, warning string, err error) {
	port, err = keepOrPickPort(saved)
	if err != nil {
		return 0, "", fmt.Errorf("%s: %w", what, err)
	}
	if saved != 0 && port != saved {
		warning = fmt.Sprintf("%s: its port %d is taken by another program, so it listens on %d now; "+
			"tenants and stack outputs that name port %d are stale until you run "+
			"`tenantfleet refresh --stack <stack>` and then `tenantfleet up --stack <stack>` for each stack on this local cloud "+
			"(or stop the other program and restart the local cloud)", what, saved, port, saved)
	}
	return port, warning, nil
}
