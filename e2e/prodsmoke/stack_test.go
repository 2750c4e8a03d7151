//go:build prodsmoke

package prodsmoke

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/lib/pq" // PostgreSQL driver

	"github.com/ticketsync/ticketsync/internal/pgtest"
)

// repoRoot is the module root (tests run in their package directory).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// binaries are the four programs the stack runs. TICKETSYNC_PRODSMOKE_BIN names a directory
// where scripts/prod-smoke.sh built them; without it the test builds them (minutes).
type binaries struct{ dir, server, sqlTool, ticketsync, simserver string }

func buildBinaries(t *testing.T) binaries {
	t.Helper()
	dir := os.Getenv("TICKETSYNC_PRODSMOKE_BIN")
	b := binaries{dir: dir}
	if dir == "" {
		b.dir = t.TempDir()
	}
	b.server, b.sqlTool = filepath.Join(b.dir, "temporal-server"), filepath.Join(b.dir, "temporal-sql-tool")
	b.ticketsync, b.simserver = filepath.Join(b.dir, "ticketsync"), filepath.Join(b.dir, "simserver")
	for bin, pkg := range map[string]string{b.server: "go.temporal.io/server/cmd/server",
		b.sqlTool: "go.temporal.io/server/cmd/tools/sql", b.ticketsync: "./cmd/ticketsync",
		b.simserver: "./e2e/prodsmoke/simserver"} {
		if _, err := os.Stat(bin); err == nil && dir != "" {
			continue
		}
		began := time.Now()
		cmd := exec.Command("go", "build", "-o", bin, pkg)
		cmd.Dir = repoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
		t.Logf("built %s in %v", pkg, time.Since(began).Round(time.Second))
	}
	// deploy/temporal-schema.sh waits for PostgreSQL with `nc -z`, which the admin-tools image
	// has and a bare machine may not: a stand-in with bash's /dev/tcp.
	if _, err := exec.LookPath("nc"); err != nil {
		shim := "#!/usr/bin/env bash\n# nc -z [-w secs] host port, for deploy/temporal-schema.sh\nargs=(); while [ $# -gt 0 ]; do case $1 in -z) ;; -w) shift ;; *) args+=(\"$1\") ;; esac; shift; done\nexec timeout 5 bash -c \"exec 3<>/dev/tcp/${args[0]}/${args[1]}\"\n"
		if err := os.WriteFile(filepath.Join(b.dir, "nc"), []byte(shim), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// freePort asks the kernel for a free loopback port.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// freeLowPort finds a free loopback port in 20000-32767.
func freeLowPort(t *testing.T) int {
	t.Helper()
	for range 200 {
		port := 20000 + rand.IntN(12768)
		if ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
			ln.Close()
			return port
		}
	}
	t.Fatal("no free port below 32768")
	return 0
}

// pg is the PostgreSQL the test uses: a role and databases with unique names, dropped at the end.
type pg struct {
	admin                           *sql.DB
	host, port                      string
	user, password                  string
	temporalDB, visDB, ticketsyncDB string
}

func newPG(t *testing.T) *pg {
	t.Helper()
	pgtest.Admin(t) // fails in CI, skips elsewhere, when PostgreSQL is down
	u, err := url.Parse(pgtest.URL())
	if err != nil {
		t.Fatal(err)
	}
	admin, err := sql.Open("postgres", pgtest.URL())
	if err != nil {
		t.Fatal(err)
	}
	sfx := pgtest.RandomSuffix(t)
	p := &pg{admin: admin, host: u.Hostname(), port: u.Port(), user: "ts_smoke_" + sfx, password: "pw" + sfx,
		temporalDB: "ts_smoke_temporal_" + sfx, visDB: "ts_smoke_temporal_vis_" + sfx, ticketsyncDB: "ts_smoke_ticketsync_" + sfx}
	if p.port == "" {
		p.port = "5432"
	}
	// The role Temporal and ticketsync log in as; CREATEDB because temporal-sql-tool creates
	// Temporal's databases itself, as in the compose stack.
	mustExec(t, admin, fmt.Sprintf(`CREATE ROLE %s LOGIN CREATEDB PASSWORD '%s'`, p.user, p.password))
	mustExec(t, admin, fmt.Sprintf(`CREATE DATABASE %s OWNER %s`, p.ticketsyncDB, p.user))
	t.Cleanup(func() {
		for _, db := range []string{p.temporalDB, p.visDB, p.ticketsyncDB} {
			if _, err := admin.Exec(`DROP DATABASE IF EXISTS ` + db + ` WITH (FORCE)`); err != nil {
				t.Errorf("drop database %s: %v", db, err)
			}
		}
		if _, err := admin.Exec(`DROP ROLE IF EXISTS ` + p.user); err != nil {
			t.Errorf("drop role %s: %v", p.user, err)
		}
		admin.Close()
	})
	return p
}

func mustExec(t *testing.T, db *sql.DB, q string) {
	t.Helper()
	if _, err := db.Exec(q); err != nil {
		t.Fatalf("%s: %v", strings.SplitN(q, " PASSWORD", 2)[0], err)
	}
}

func (p *pg) ticketsyncURL() string {
	return fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=disable", p.user, p.password, net.JoinHostPort(p.host, p.port), p.ticketsyncDB)
}

// proc is a child process whose output goes to a log file in logDir.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

type stack struct {
	t      *testing.T
	logDir string
	procs  []*proc
}

func newStack(t *testing.T) *stack {
	t.Helper()
	dir := os.Getenv("TICKETSYNC_PRODSMOKE_LOGS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &stack{t: t, logDir: dir}
	t.Cleanup(s.stopAll)
	return s
}

// start runs bin with args and exactly env (plus PATH and HOME), logging to <name>.log.
func (s *stack) start(name, bin string, env []string, args ...string) *proc {
	s.t.Helper()
	logPath := filepath.Join(s.logDir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); f.Close(); close(p.done) }()
	s.procs = append(s.procs, p)
	return p
}

// run runs a one-shot command to completion within limit.
func (s *stack) run(name, bin string, env []string, limit time.Duration, args ...string) {
	s.t.Helper()
	p := s.start(name, bin, env, args...)
	select {
	case <-p.done:
	case <-time.After(limit):
		p.kill(syscall.SIGKILL)
		s.t.Fatalf("%s did not finish within %v:\n%s", name, limit, tail(p.log, 40))
	}
	if p.err != nil {
		s.t.Fatalf("%s: %v:\n%s", name, p.err, tail(p.log, 40))
	}
}

func (p *proc) kill(sig syscall.Signal) {
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stopAll ends every process still running: SIGTERM, then SIGKILL after 15 s. On failure it
// prints the end of every log.
func (s *stack) stopAll() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		p := s.procs[i]
		if p.exited() {
			continue
		}
		p.kill(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			p.kill(syscall.SIGKILL)
			<-p.done
		}
	}
	if s.t.Failed() {
		for _, p := range s.procs {
			s.t.Logf("---- %s (%s) ----\n%s", p.name, p.log, tail(p.log, 30))
		}
	}
}

// checkAlive fails the test when a long-running process has died.
func (s *stack) checkAlive(ps ...*proc) {
	s.t.Helper()
	for _, p := range ps {
		if p.exited() {
			s.t.Fatalf("%s exited: %v\n%s", p.name, p.err, tail(p.log, 40))
		}
	}
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		if len(l) > 400 { // stack traces in JSON log lines
			lines[i] = l[:400] + "…"
		}
	}
	return strings.Join(lines, "\n")
}

// waitLine waits for a line of p's log matching re and returns its first group.
func waitLine(t *testing.T, p *proc, re *regexp.Regexp, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(p.log)
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				return m[1]
			}
		}
		if p.exited() {
			t.Fatalf("%s exited: %v\n%s", p.name, p.err, tail(p.log, 40))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: no line matching %s within %v\n%s", p.name, re, within, tail(p.log, 40))
	return ""
}

// temporalEnv configures the server binary through its embedded config template, as the
// temporalio/server image does in docker-compose.temporal.yml (same variables), on loopback
// ports picked now.
func temporalEnv(t *testing.T, p *pg, dynamicConfig string) (env []string, frontend string) {
	t.Helper()
	env = []string{"DB=postgres12", "POSTGRES_SEEDS=" + p.host, "DB_PORT=" + p.port,
		"POSTGRES_USER=" + p.user, "POSTGRES_PWD=" + p.password,
		"DBNAME=" + p.temporalDB, "VISIBILITY_DBNAME=" + p.visDB,
		"BIND_ON_IP=127.0.0.1", "TEMPORAL_BROADCAST_ADDRESS=127.0.0.1", "NUM_HISTORY_SHARDS=4",
		"DYNAMIC_CONFIG_FILE_PATH=" + dynamicConfig, "LOG_LEVEL=warn"}
	grpcPort := freePort(t)
	for _, name := range []string{"FRONTEND_HTTP_PORT", "HISTORY_GRPC_PORT", "MATCHING_GRPC_PORT", "WORKER_GRPC_PORT"} {
		env = append(env, name+"="+strconv.Itoa(freePort(t)))
	}
	// Membership ports go into a smallint column of the cluster_membership table: below 32768,
	// where the kernel's ephemeral range (from 32768) does not hand them out either.
	for _, name := range []string{"FRONTEND_MEMBERSHIP_PORT", "HISTORY_MEMBERSHIP_PORT", "MATCHING_MEMBERSHIP_PORT", "WORKER_MEMBERSHIP_PORT"} {
		env = append(env, name+"="+strconv.Itoa(freeLowPort(t)))
	}
	env = append(env, "FRONTEND_GRPC_PORT="+strconv.Itoa(grpcPort))
	return env, "127.0.0.1:" + strconv.Itoa(grpcPort)
}

// waitHTTP waits until url answers 200.
func waitHTTP(ctx context.Context, t *testing.T, url string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if code, _ := httpDo(ctx, "GET", url, "", nil); code == 200 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered 200 within %v", url, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
