package reliability

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/bundle"
	"github.com/dingfn/dingfn/shared/config"
	"github.com/dingfn/dingfn/shared/functions"
	"github.com/dingfn/dingfn/shared/store/tablestoretest"
)

// The test binary is also the suite's child processes: run with envRole
// set, it serves the emulator or runs the token-refresher instead of the
// tests, so the suite can SIGKILL them.
const (
	envRole   = "DINGFN_RELIABILITY_ROLE"
	envData   = "DINGFN_RELIABILITY_DATA"
	envAddr   = "DINGFN_RELIABILITY_ADDR"
	envBusy   = "DINGFN_RELIABILITY_BUSY"
	envSeed   = "DINGFN_RELIABILITY_SEED"
	roleEmu   = "emulator"
	roleToken = "token-refresher"
)

func TestMain(m *testing.M) {
	switch os.Getenv(envRole) {
	case roleEmu:
		if err := serveEmulator(); err != nil {
			fmt.Fprintln(os.Stderr, "emulator:", err)
			os.Exit(1)
		}
		os.Exit(0)
	case roleToken:
		if err := runRefresher(); err != nil {
			fmt.Fprintln(os.Stderr, "token-refresher:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serveEmulator serves the Tablestore emulator on envAddr and envData,
// answering a share (envBusy) of requests OTSServerBusy, until killed or
// until stdin closes. It prints "ready ADDR" once it listens.
func serveEmulator() error {
	share, _ := strconv.ParseFloat(os.Getenv(envBusy), 64)
	seed, _ := strconv.ParseUint(os.Getenv(envSeed), 10, 64)
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(seed, 7))
	ln, err := net.Listen("tcp", os.Getenv(envAddr))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// The parent holds stdin open; it closing means the parent is gone.
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	fmt.Printf("ready %s\n", ln.Addr())
	return tablestoretest.Serve(ctx, ln,
		tablestoretest.WithDataFile(os.Getenv(envData)),
		tablestoretest.WithLogger(slog.New(slog.NewJSONHandler(os.Stderr, nil))),
		tablestoretest.WithFaults(func(string) (tablestoretest.Fault, bool) {
			mu.Lock()
			defer mu.Unlock()
			if share > 0 && rng.Float64() < share {
				return tablestoretest.ServerBusy, true
			}
			return tablestoretest.Fault{}, false
		}))
}

// runRefresher is the token-refresher function, configured from the
// environment as its main is: for each line "tick OFFSET" on stdin (the
// suite's clock's lead on the wall clock, in ns) it runs one tick on that
// clock and prints "ok" or "failed". SIGKILL mid-tick is the point.
func runRefresher() error {
	var offset atomic.Int64 // the suite's jumpClock, as of the last tick
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg, err := config.Load(config.TokenRefresher, os.Getenv)
	if err != nil {
		return err
	}
	b, err := bundle.Open(context.Background(), cfg, logger, bundle.WithClock(clock))
	if err != nil {
		return err
	}
	defer b.Close()
	tick, err := functions.TokenRefresher(b)
	if err != nil {
		return err
	}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		off, ok := strings.CutPrefix(in.Text(), "tick ")
		if !ok {
			continue
		}
		ns, err := strconv.ParseInt(off, 10, 64)
		if err != nil {
			return err
		}
		offset.Store(ns)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		_, err = tick(ctx)
		cancel()
		if err != nil {
			logger.Warn("tick failed", "err", err)
			fmt.Println("failed")
		} else {
			fmt.Println("ok")
		}
	}
	return in.Err()
}
