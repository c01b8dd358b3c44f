package directorytest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
	"golang.org/x/time/rate"

	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/store/memstore"
	"github.com/dingfn/dingfn/shared/store/otsstore"
)

// The QPS cap of WalkAtCap. DingTalk limits each app per API per second
// (standard edition: 20 QPS on every contact API), so the fake limits
// every API separately at the cap, and the walk's floor is its busiest
// API's call count divided by the cap: with the three APIs in flight at
// once, no walk making those calls can finish sooner. The client runs at
// 95% of the cap (19/s, burst 1): the fake counts calls in fixed clock
// seconds, and a token bucket at exactly the cap can put one extra call
// into a second after an idle moment, which DingTalk answers with 90018.
const (
	QPSCap      = 20
	ClientLimit = 19
)

// CapWalk is what WalkAtCap measured.
type CapWalk struct {
	// Users is the size of the generated organisation.
	Users int
	// CallsByAPI are the first walk's DingTalk calls, by API, as the walk
	// counted them.
	CallsByAPI map[string]int
	// BusiestAPI made Busiest calls; Floor is Busiest ÷ QPSCap.
	BusiestAPI string
	Busiest    int
	Floor      time.Duration
	// FirstWall is the first walk (which writes every record), AgainWall
	// the unchanged re-sync.
	FirstWall, AgainWall time.Duration
	// Throttled counts the fake's 90018 answers over both walks.
	Throttled int
	// ResyncRecordWrites are the unchanged re-sync's writes to the record
	// tables, ResyncStateWrites its writes to the sync's state.
	ResyncRecordWrites, ResyncStateWrites int
}

// FirstRatio is FirstWall ÷ Floor.
func (w *CapWalk) FirstRatio() float64 { return w.FirstWall.Seconds() / w.Floor.Seconds() }

// AgainRatio is AgainWall ÷ Floor.
func (w *CapWalk) AgainRatio() float64 { return w.AgainWall.Seconds() / w.Floor.Seconds() }

// WalkAtCap walks a generated organisation of users (seed 1) on a fake
// DingTalk limiting every API at QPSCap, into the memory store, then
// re-syncs it unchanged. At 10 000 users each walk takes about 20 s.
func WalkAtCap(ctx context.Context, users int) (*CapWalk, error) {
	fake := dingtalktest.NewServer(dingtalktest.WithGeneratedOrg(dingtalktest.OrgSpec{Users: users, Seed: 1}), dingtalktest.WithQPSLimit(QPSCap))
	defer fake.Close()
	client, err := dingtalk.NewClient(fake.AppKey(), fake.AppSecret(), dingtalk.WithBaseURLs(fake.URL, fake.URL),
		dingtalk.WithRateLimit(ClientLimit, 1))
	if err != nil {
		return nil, err
	}
	mem, err := memstore.New()
	if err != nil {
		return nil, err
	}
	st := NewCountingStore(mem)
	w, err := directory.NewWriter(st, client)
	if err != nil {
		return nil, err
	}
	s, err := directory.NewSyncer(w)
	if err != nil {
		return nil, err
	}
	if _, err := client.TokenSource().AccessToken(ctx); err != nil { // not part of the walk
		return nil, err
	}
	walk := func() (*directory.Report, time.Duration, error) {
		st.Reset()
		start := time.Now()
		rep, err := s.Run(ctx, directory.RunOptions{})
		if err == nil && !rep.Complete {
			err = fmt.Errorf("walk did not complete: %+v", rep)
		}
		return rep, time.Since(start), err
	}
	first, firstWall, err := walk()
	if err != nil {
		return nil, fmt.Errorf("first walk: %w", err)
	}
	again, againWall, err := walk()
	if err != nil {
		return nil, fmt.Errorf("re-sync: %w", err)
	}
	m := &CapWalk{Users: users, CallsByAPI: first.APICallsByAPI, FirstWall: firstWall, AgainWall: againWall,
		ResyncRecordWrites: st.RecordWriteCount(), ResyncStateWrites: again.StateWrites}
	for api, n := range first.APICallsByAPI {
		if n > m.Busiest {
			m.Busiest, m.BusiestAPI = n, api
		}
	}
	if m.Busiest == 0 {
		return nil, errors.New("the walk made no DingTalk calls")
	}
	m.Floor = time.Duration(float64(m.Busiest) / QPSCap * float64(time.Second))
	for _, c := range fake.Calls() {
		if c.Errcode == 90018 {
			m.Throttled++
		}
	}
	return m, nil
}

// The walker process's environment (see RunWalker).
const (
	EnvWalker           = "DINGFN_BENCH_WALKER"
	envWalkerDingTalk   = "DINGFN_BENCH_DINGTALK"
	envWalkerTablestore = "DINGFN_BENCH_TABLESTORE"
)

// IsWalker reports whether this process was started by WalkerRSS as its
// walker (EnvWalker is set).
func IsWalker(getenv func(string) string) bool { return getenv(EnvWalker) == "1" }

// RunWalker is the body of WalkerRSS's child process: it walks the fake
// DingTalk whose URL the environment names, without a rate limit, into
// the Tablestore emulator it names, twice (the first walk writes the
// whole mirror, the second reads it back into the index and writes
// nothing), printing one "REPORT <seconds> <report JSON>" line per walk.
func RunWalker(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	client, err := dingtalk.NewClient(dingtalktest.DefaultAppKey, dingtalktest.DefaultAppSecret,
		dingtalk.WithBaseURLs(getenv(envWalkerDingTalk), getenv(envWalkerDingTalk)),
		dingtalk.WithRateLimit(rate.Inf, 0))
	if err != nil {
		return err
	}
	tc := tablestore.NewClientWithConfig(getenv(envWalkerTablestore), "bench", "bench-access-key-id", "bench-access-key-secret", "", nil)
	st, err := otsstore.New(tc)
	if err != nil {
		return err
	}
	defer st.Close()
	w, err := directory.NewWriter(st, client)
	if err != nil {
		return err
	}
	s, err := directory.NewSyncer(w)
	if err != nil {
		return err
	}
	for range 2 {
		start := time.Now()
		rep, err := s.Run(ctx, directory.RunOptions{})
		if err != nil {
			return err
		}
		b, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "REPORT %.1f %s\n", time.Since(start).Seconds(), b)
	}
	return nil
}

// WalkerPeak is what WalkerRSS measured.
type WalkerPeak struct {
	// Users is the size of the organisation.
	Users int
	// Walls are the first walk's and the re-sync's wall times.
	Walls []time.Duration
	// PeakRSS is the walker process's peak resident set, in bytes.
	PeakRSS int64
}

// parseWalkerOutput reads RunWalker's REPORT lines.
func parseWalkerOutput(out string, users int) ([]time.Duration, error) {
	var walls []time.Duration
	for line := range strings.SplitSeq(out, "\n") {
		rest, ok := strings.CutPrefix(line, "REPORT ")
		if !ok {
			continue
		}
		secs, js, _ := strings.Cut(rest, " ")
		var rep directory.Report
		if err := json.Unmarshal([]byte(js), &rep); err != nil || !rep.Complete || rep.UsersSeen != users {
			return nil, fmt.Errorf("walker report %q: %v", line, err)
		}
		d, err := time.ParseDuration(secs + "s")
		if err != nil {
			return nil, fmt.Errorf("walker report %q: %v", line, err)
		}
		walls = append(walls, d)
	}
	if len(walls) != 2 {
		return nil, fmt.Errorf("walker printed %d reports, want 2:\n%s", len(walls), out)
	}
	return walls, nil
}

// walkerEnv is the child's environment.
func walkerEnv(dingtalkURL, tablestoreURL string) []string {
	return append(os.Environ(), EnvWalker+"=1", envWalkerDingTalk+"="+dingtalkURL, envWalkerTablestore+"="+tablestoreURL)
}
