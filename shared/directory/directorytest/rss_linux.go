package directorytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"syscall"

	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/store/tablestoretest"
)

// WalkerRSS walks a generated organisation of users (seed 2) in a child
// process, command (which must call RunWalker when IsWalker), against a
// fake DingTalk and a Tablestore emulator in this process, so their memory
// is not the walker's, and reads the child's peak RSS from the kernel.
// At 100 000 users it takes a few minutes.
func WalkerRSS(ctx context.Context, users int, command []string) (*WalkerPeak, error) {
	if len(command) == 0 {
		return nil, errors.New("directorytest: no walker command")
	}
	fake := dingtalktest.NewServer(dingtalktest.WithGeneratedOrg(dingtalktest.OrgSpec{Users: users, Seed: 2}), dingtalktest.WithMaxRecordedCalls(1))
	defer fake.Close()
	ots := tablestoretest.NewServer()
	defer ots.Close()
	cmd := exec.CommandContext(ctx, command[0], command[1:]...)
	cmd.Env = walkerEnv(fake.URL, ots.URL)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("walker process: %v\n%s\n%s", err, out.String(), errOut.String())
	}
	walls, err := parseWalkerOutput(out.String(), users)
	if err != nil {
		return nil, err
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return nil, errors.New("no rusage for the walker process")
	}
	return &WalkerPeak{Users: users, Walls: walls, PeakRSS: ru.Maxrss * 1024}, nil // KiB on Linux
}
