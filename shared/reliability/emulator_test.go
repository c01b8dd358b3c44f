package reliability

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dingfn/dingfn/shared/reliability/secretscan"
)

// emulator is the Tablestore emulator in a child process, restarted on
// the same data file and port after each kill.
type emulator struct {
	data, addr string
	seed       uint64
	scan       *secretscan.Scanner
	proc       *child
	starts     int
	panics     []string
	busy       int // OTSServerBusy answers of the children so far
}

// start runs the emulator answering a share of requests busy; the first
// start picks a free port, later ones reuse it.
func (e *emulator) start(busy float64) error {
	e.starts++
	c, err := startChild("emulator", roleEmu, []string{
		envData + "=" + e.data, envAddr + "=" + e.addr,
		envBusy + "=" + strconv.FormatFloat(busy, 'g', -1, 64),
		envSeed + "=" + strconv.FormatUint(e.seed+uint64(e.starts), 10),
	}, e.scan)
	if err != nil {
		return err
	}
	line, err := c.readLine(30 * time.Second)
	if err != nil {
		c.kill()
		return fmt.Errorf("emulator start %d: %w", e.starts, err)
	}
	addr, ok := strings.CutPrefix(line, "ready ")
	if !ok {
		c.kill()
		return fmt.Errorf("emulator start %d: said %q", e.starts, line)
	}
	e.addr, e.proc = addr, c
	return nil
}

// restart kills the emulator with SIGKILL and starts it again after
// down (an outage: every request in it fails to connect).
func (e *emulator) restart(busy float64, down time.Duration) error {
	e.proc.kill()
	e.panics = append(e.panics, e.proc.panicLines()...)
	e.busy += e.proc.faults()
	if down > 0 {
		t := time.NewTimer(down)
		defer t.Stop()
		<-t.C
	}
	return e.start(busy)
}

func (e *emulator) stop() {
	if e.proc != nil {
		e.proc.stop()
		e.panics = append(e.panics, e.proc.panicLines()...)
		e.busy += e.proc.faults()
	}
}
