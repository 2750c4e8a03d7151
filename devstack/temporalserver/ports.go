package temporalserver

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"syscall"
)

// PortInUseError reports that a port requested in Options cannot be bound.
// What names the listener ("Temporal frontend gRPC", "Temporal Web UI") so a
// caller can map it back to its own flag.
type PortInUseError struct {
	Port int
	What string
}

func (e *PortInUseError) Error() string {
	return fmt.Sprintf("port %d for %s is already in use", e.Port, e.What)
}

const (
	whatFrontend = "Temporal frontend gRPC"
	whatUI       = "Temporal Web UI"
)

// checkPortFree binds ip:port once and releases it. A port held by another
// process yields *PortInUseError; other failures (bad IP, permission) are
// returned wrapped.
func checkPortFree(ip string, port int, what string) error {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return &PortInUseError{Port: port, What: what}
		}
		return fmt.Errorf("cannot listen on %s port %d: %w", what, port, err)
	}
	return l.Close()
}

// freePort asks the OS for a free TCP port on ip.
//
// On Linux ephemeral ports are randomized and may be handed out again soon
// after they are released; connecting to the port and closing that connection
// from the accepting side parks it in TIME_WAIT, which keeps the kernel from
// reallocating it to other bind(:0) calls while an explicit bind (with
// SO_REUSEADDR, as Go sets) still succeeds.
func freePort(ip string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	if runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
		return port, nil
	}
	c, err := net.Dial("tcp", net.JoinHostPort(dialHost(ip), strconv.Itoa(port)))
	if err != nil {
		return port, nil // best effort: the port itself is still good
	}
	defer c.Close()
	if s, err := l.Accept(); err == nil {
		_ = s.Close() // server side closes first -> TIME_WAIT on the server side
	}
	return port, nil
}

// dialHost returns an address clients can connect to for a listen IP:
// wildcard addresses are replaced by the matching loopback address.
func dialHost(ip string) string {
	parsed := net.ParseIP(ip)
	if parsed == nil || !parsed.IsUnspecified() {
		return ip
	}
	if parsed.To4() != nil {
		return "127.0.0.1"
	}
	return "::1"
}
