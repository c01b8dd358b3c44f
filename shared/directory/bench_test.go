//go:build linux

package directory_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
	"golang.org/x/time/rate"

	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/store/memstore"
	"github.com/dingfn/dingfn/shared/store/otsstore"
	"github.com/dingfn/dingfn/shared/store/tablestoretest"
)

// The QPS cap of the walk benchmark. DingTalk limits each app per API per
// second (standard edition: 20 QPS on every contact API), so the fake
// limits every API separately at the cap, and the walk's floor is its
// busiest API's call count divided by the cap: with the three APIs in
// flight at once, no walk making those calls can finish sooner. The
// client runs at 95% of the cap (19/s, burst 1): the fake counts calls in
// fixed clock seconds, and a token bucket at exactly the cap can put one
// extra call into a second after an idle moment, which DingTalk answers
// with 90018.
const (
	benchCap         = 20
	benchClientLimit = 19
)

// BenchmarkSync prints the directory sync's measurements as one table:
//
//	go test -run '^$' -bench Sync -benchtime 1x ./shared/directory
//
// It walks a generated organisation of 10 000 users at the cap (about 20
// s), re-syncs it unchanged, and walks 100 000 users in a child process
// whose peak RSS is read from the kernel (the fake DingTalk and the
// Tablestore emulator run in this process, so their memory is not the
// walker's).
func BenchmarkSync(b *testing.B) {
	for b.Loop() {
		rows := [][]string{{"measurement", "value", "target"}}
		rows = append(rows, benchWalkAtCap(b)...)
		rows = append(rows, benchPeakRSS(b, 100000)...)
		var buf strings.Builder
		for _, r := range rows {
			fmt.Fprintf(&buf, "%-70s %-28s %s\n", r[0], r[1], r[2])
		}
		b.Log("\n" + buf.String())
	}
}

func benchWalkAtCap(b *testing.B) [][]string {
	ctx := context.Background()
	fake := dingtalktest.NewServer(dingtalktest.WithGeneratedOrg(dingtalktest.OrgSpec{Users: 10000, Seed: 1}), dingtalktest.WithQPSLimit(benchCap))
	defer fake.Close()
	client, err := dingtalk.NewClient(fake.AppKey(), fake.AppSecret(), dingtalk.WithBaseURLs(fake.URL, fake.URL),
		dingtalk.WithRateLimit(benchClientLimit, 1))
	if err != nil {
		b.Fatal(err)
	}
	mem, err := memstore.New()
	if err != nil {
		b.Fatal(err)
	}
	st := &countingStore{Store: mem}
	w, err := directory.NewWriter(st, client)
	if err != nil {
		b.Fatal(err)
	}
	s, err := directory.NewSyncer(w)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := client.TokenSource().AccessToken(ctx); err != nil { // not part of the walk
		b.Fatal(err)
	}
	walk := func() (*directory.Report, time.Duration) {
		st.reset()
		start := time.Now()
		rep, err := s.Run(ctx, directory.RunOptions{})
		if err != nil || !rep.Complete {
			b.Fatalf("walk: %v %+v", err, rep)
		}
		return rep, time.Since(start)
	}
	first, firstWall := walk()
	again, againWall := walk()
	recordWrites := 0
	for _, keys := range st.recordWrites() {
		recordWrites += len(keys)
	}
	busiest, busiestAPI := 0, ""
	for api, n := range first.APICallsByAPI {
		if n > busiest {
			busiest, busiestAPI = n, api
		}
	}
	floor := time.Duration(float64(busiest) / benchCap * float64(time.Second))
	throttled := 0
	for _, c := range fake.Calls() {
		if c.Errcode == 90018 {
			throttled++
		}
	}
	b.ReportMetric(firstWall.Seconds()/floor.Seconds(), "wall/floor")
	b.ReportMetric(float64(recordWrites), "resync-record-writes")
	return [][]string{
		{"walk of 10 000 users: calls per API (the walk's own count)", fmt.Sprintf("%v", first.APICallsByAPI), ""},
		{fmt.Sprintf("floor: busiest API (%s) ÷ %d QPS", strings.TrimPrefix(busiestAPI, "topapi/"), benchCap), fmt.Sprintf("%d ÷ %d = %.2f s", busiest, benchCap, floor.Seconds()), ""},
		{"first walk (writes every record): wall ÷ floor", fmt.Sprintf("%.2f s ÷ %.2f s = %.3f", firstWall.Seconds(), floor.Seconds(), firstWall.Seconds()/floor.Seconds()), "≤ 1.1"},
		{"unchanged re-sync: wall ÷ floor", fmt.Sprintf("%.2f s ÷ %.2f s = %.3f", againWall.Seconds(), floor.Seconds(), againWall.Seconds()/floor.Seconds()), "≤ 1.1"},
		{"90018 answers from the fake (both walks)", fmt.Sprint(throttled), "0"},
		{"unchanged re-sync: record writes (state writes)", fmt.Sprintf("%d (%d)", recordWrites, again.StateWrites), "0"},
	}
}

// benchPeakRSS walks users in a child process against a fake DingTalk
// and a Tablestore emulator in this one, and reads the child's peak RSS.
func benchPeakRSS(b *testing.B, users int) [][]string {
	fake := dingtalktest.NewServer(dingtalktest.WithGeneratedOrg(dingtalktest.OrgSpec{Users: users, Seed: 2}), dingtalktest.WithMaxRecordedCalls(1))
	defer fake.Close()
	ots := tablestoretest.NewServer()
	defer ots.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchWalkerProcess$", "-test.v")
	cmd.Env = append(os.Environ(), "DINGFN_BENCH_WALKER=1", "DINGFN_BENCH_DINGTALK="+fake.URL, "DINGFN_BENCH_TABLESTORE="+ots.URL)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		b.Fatalf("walker process: %v\n%s\n%s", err, out.String(), errOut.String())
	}
	var walls []string
	for _, line := range strings.Split(out.String(), "\n") {
		rest, ok := strings.CutPrefix(line, "REPORT ")
		if !ok {
			continue
		}
		secs, js, _ := strings.Cut(rest, " ")
		var rep directory.Report
		if err := json.Unmarshal([]byte(js), &rep); err != nil || !rep.Complete || rep.UsersSeen != users {
			b.Fatalf("walker report %q: %v", line, err)
		}
		walls = append(walls, secs+" s")
	}
	if len(walls) != 2 {
		b.Fatalf("walker printed %d reports, want 2:\n%s", len(walls), out.String())
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		b.Fatal("no rusage for the walker process")
	}
	peakMB := float64(ru.Maxrss) / 1024 // KiB on Linux
	b.ReportMetric(peakMB, "peak-RSS-MB")
	return [][]string{
		{fmt.Sprintf("walk of %d users, then unchanged re-sync (no rate limit, emulator)", users), strings.Join(walls, ", "), ""},
		{"peak RSS of the walker process over both", fmt.Sprintf("%.0f MB", peakMB), "≤ 200 MB"},
	}
}

// TestBenchWalkerProcess is the child process of benchPeakRSS; it does
// nothing in a normal test run.
func TestBenchWalkerProcess(t *testing.T) {
	if os.Getenv("DINGFN_BENCH_WALKER") != "1" {
		t.Skip("the walker process of BenchmarkSync")
	}
	ctx := context.Background()
	client, err := dingtalk.NewClient(dingtalktest.DefaultAppKey, dingtalktest.DefaultAppSecret,
		dingtalk.WithBaseURLs(os.Getenv("DINGFN_BENCH_DINGTALK"), os.Getenv("DINGFN_BENCH_DINGTALK")),
		dingtalk.WithRateLimit(rate.Inf, 0))
	if err != nil {
		t.Fatal(err)
	}
	tc := tablestore.NewClientWithConfig(os.Getenv("DINGFN_BENCH_TABLESTORE"), "bench", "bench-access-key-id", "bench-access-key-secret", "", nil)
	st, err := otsstore.New(tc)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w, err := directory.NewWriter(st, client)
	if err != nil {
		t.Fatal(err)
	}
	s, err := directory.NewSyncer(w)
	if err != nil {
		t.Fatal(err)
	}
	// The first walk writes the whole mirror; the second reads it back
	// into the index (ids and hashes) and writes nothing. The peak covers
	// both.
	for range 2 {
		start := time.Now()
		rep, err := s.Run(ctx, directory.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(rep)
		fmt.Printf("REPORT %.1f %s\n", time.Since(start).Seconds(), b)
	}
}
