package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/dingfn/dingfn/shared/directory/directorytest"
)

// The organisations of the directory rows: 10 000 users at DingTalk's
// rate limit (about 20 s a walk), 1 000 in a quick run; 100 000 for the
// memory row.
const (
	walkUsers      = 10000
	walkUsersQuick = 1000
	rssUsers       = 100000
)

func directoryWalkMeasurement() Measurement {
	return Measurement{
		Name: "directory sync",
		Rows: []Row{
			{Name: fmt.Sprintf("first walk: wall time ÷ (busiest API's calls ÷ %d QPS cap)", directorytest.QPSCap), Aim: AtMost(1.1)},
			{Name: "unchanged re-sync: wall time ÷ the same floor", Aim: AtMost(1.1)},
			{Name: "unchanged re-sync: store writes to the mirror's records", Aim: Exactly(0)},
		},
		Measure: measureWalk,
	}
}

// measureWalk runs directorytest.WalkAtCap, the measurement BenchmarkSync
// prints too.
func measureWalk(ctx context.Context, env *Env) ([]Figure, error) {
	users := walkUsers
	if env.Quick {
		users = walkUsersQuick
	}
	m, err := directorytest.WalkAtCap(ctx, users)
	if err != nil {
		return nil, err
	}
	org := fmt.Sprintf("%s users, %s: %d calls", thousands(users), strings.TrimPrefix(m.BusiestAPI, "topapi/"), m.Busiest)
	first := ratio(m.FirstWall.Seconds(), m.Floor.Seconds(), fmtSeconds)
	first.Detail += " (" + org + ")"
	again := ratio(m.AgainWall.Seconds(), m.Floor.Seconds(), fmtSeconds)
	if m.Throttled > 0 {
		first.Detail += fmt.Sprintf("; %d answers 90018", m.Throttled)
	}
	return []Figure{first, again, {
		Value:  float64(m.ResyncRecordWrites),
		Text:   strconv.Itoa(m.ResyncRecordWrites),
		Detail: fmt.Sprintf("%d write(s) of the sync's own status", m.ResyncStateWrites),
	}}, nil
}

func directoryRSSMeasurement() Measurement {
	return Measurement{
		Name: "directory sync, large",
		Rows: []Row{
			{Name: fmt.Sprintf("peak RSS of a %s-user walk and its unchanged re-sync (walker in its own process, on Tablestore)", thousands(rssUsers)), Aim: Aim{Max: 200, Unit: "MiB"}},
		},
		Large:   true,
		Measure: measureWalkerRSS,
	}
}

// measureWalkerRSS runs directorytest.WalkerRSS with this program as the
// walker (RunChild starts it).
func measureWalkerRSS(ctx context.Context, env *Env) ([]Figure, error) {
	self := env.Self
	if len(self) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		self = []string{exe}
	}
	m, err := directorytest.WalkerRSS(ctx, rssUsers, self)
	if err != nil {
		return nil, err
	}
	mib := float64(m.PeakRSS) / (1 << 20)
	return []Figure{{
		Value:  mib,
		Text:   fmt.Sprintf("%.0f MiB", mib),
		Detail: fmt.Sprintf("walks of %s and %s", fmtDuration(m.Walls[0]), fmtDuration(m.Walls[1])),
	}}, nil
}

// RunChild runs this process as a bench's child process when the
// environment says it is one (the directory walker whose memory the
// large row measures), and reports whether it was. A program running
// bench calls it first thing in main and exits when it returns true.
func RunChild(ctx context.Context, getenv func(string) string) (bool, error) {
	if !directorytest.IsWalker(getenv) {
		return false, nil
	}
	return true, directorytest.RunWalker(ctx, getenv, os.Stdout)
}

// thousands writes n with a space between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + " " + s[i:]
	}
	return s
}
