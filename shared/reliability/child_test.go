package reliability

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dingfn/dingfn/shared/reliability/secretscan"
)

// child is a re-executed test binary in one of the roles of TestMain.
type child struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string // stdout, line by line; closed at exit
	exited chan struct{}
	mu     sync.Mutex
	panics []string
	busy   int // faults the emulator said it injected
}

// startChild starts the test binary in role with env added to the
// suite's. Its stderr (the function's log) goes, line by line, through
// scan and is searched for panics and data races.
func startChild(name, role string, env []string, scan *secretscan.Scanner) (*child, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), envRole+"="+role), env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	c := &child{name: name, cmd: cmd, stdin: stdin, lines: make(chan string, 64), exited: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			c.lines <- s.Text()
		}
		close(c.lines)
	}()
	go func() {
		defer wg.Done()
		s := bufio.NewScanner(stderr)
		s.Buffer(make([]byte, 64<<10), 4<<20)
		for s.Scan() {
			line := s.Bytes()
			scan.Check(name+" log", line)
			c.mu.Lock()
			if isPanic(string(line)) {
				c.panics = append(c.panics, string(line))
			}
			if strings.Contains(string(line), "injecting fault") {
				c.busy++
			}
			c.mu.Unlock()
		}
	}()
	go func() {
		wg.Wait()
		_ = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// isPanic reports whether a log or stderr line shows a panic (recovered
// ones are logged with a "panic" attribute) or a data race.
func isPanic(line string) bool {
	return strings.HasPrefix(line, "panic:") || strings.HasPrefix(line, "fatal error:") ||
		strings.Contains(line, "WARNING: DATA RACE") || strings.Contains(line, `"panic":`)
}

// readLine waits for the child's next stdout line, up to d.
func (c *child) readLine(d time.Duration) (string, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case l, ok := <-c.lines:
		if !ok {
			return "", fmt.Errorf("%s exited", c.name)
		}
		return l, nil
	case <-t.C:
		return "", fmt.Errorf("%s: no answer within %v", c.name, d)
	}
}

// kill ends the child with SIGKILL and waits for it to be gone.
func (c *child) kill() {
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.exited
}

// stop closes stdin, which ends the child, and waits; SIGKILL if it does
// not end within 10 s.
func (c *child) stop() {
	_ = c.stdin.Close()
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-c.exited:
	case <-t.C:
		c.kill()
	}
}

func (c *child) panicLines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.panics...)
}

func (c *child) faults() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.busy
}
