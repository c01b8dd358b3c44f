//go:build linux

package directory_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/dingfn/dingfn/shared/directory/directorytest"
)

// BenchmarkSync prints the directory sync's measurements as one table:
//
//	go test -run '^$' -bench Sync -benchtime 1x ./shared/directory
//
// It walks a generated organisation of 10 000 users at the cap (about 20
// s), re-syncs it unchanged, and walks 100 000 users in a child process
// whose peak RSS is read from the kernel (the fake DingTalk and the
// Tablestore emulator run in this process, so their memory is not the
// walker's). The measuring code is directorytest's, which `dingfn bench`
// runs too.
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
	m, err := directorytest.WalkAtCap(context.Background(), 10000)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(m.FirstRatio(), "wall/floor")
	b.ReportMetric(float64(m.ResyncRecordWrites), "resync-record-writes")
	return [][]string{
		{"walk of 10 000 users: calls per API (the walk's own count)", fmt.Sprintf("%v", m.CallsByAPI), ""},
		{fmt.Sprintf("floor: busiest API (%s) ÷ %d QPS", strings.TrimPrefix(m.BusiestAPI, "topapi/"), directorytest.QPSCap), fmt.Sprintf("%d ÷ %d = %.2f s", m.Busiest, directorytest.QPSCap, m.Floor.Seconds()), ""},
		{"first walk (writes every record): wall ÷ floor", fmt.Sprintf("%.2f s ÷ %.2f s = %.3f", m.FirstWall.Seconds(), m.Floor.Seconds(), m.FirstRatio()), "≤ 1.1"},
		{"unchanged re-sync: wall ÷ floor", fmt.Sprintf("%.2f s ÷ %.2f s = %.3f", m.AgainWall.Seconds(), m.Floor.Seconds(), m.AgainRatio()), "≤ 1.1"},
		{"90018 answers from the fake (both walks)", fmt.Sprint(m.Throttled), "0"},
		{"unchanged re-sync: record writes (state writes)", fmt.Sprintf("%d (%d)", m.ResyncRecordWrites, m.ResyncStateWrites), "0"},
	}
}

// benchPeakRSS walks users in a child process (this test binary running
// TestBenchWalkerProcess) and reads its peak RSS.
func benchPeakRSS(b *testing.B, users int) [][]string {
	m, err := directorytest.WalkerRSS(context.Background(), users, []string{os.Args[0], "-test.run=^TestBenchWalkerProcess$", "-test.v"})
	if err != nil {
		b.Fatal(err)
	}
	peakMB := float64(m.PeakRSS) / (1 << 20)
	b.ReportMetric(peakMB, "peak-RSS-MB")
	return [][]string{
		{fmt.Sprintf("walk of %d users, then unchanged re-sync (no rate limit, emulator)", users), fmt.Sprintf("%.1f s, %.1f s", m.Walls[0].Seconds(), m.Walls[1].Seconds()), ""},
		{"peak RSS of the walker process over both", fmt.Sprintf("%.0f MB", peakMB), "≤ 200 MB"},
	}
}

// TestBenchWalkerProcess is the child process of benchPeakRSS; it does
// nothing in a normal test run.
func TestBenchWalkerProcess(t *testing.T) {
	if !directorytest.IsWalker(os.Getenv) {
		t.Skip("the walker process of BenchmarkSync")
	}
	if err := directorytest.RunWalker(context.Background(), os.Getenv, os.Stdout); err != nil {
		t.Fatal(err)
	}
}
