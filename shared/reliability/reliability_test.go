package reliability

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/directory/directorytest"
	"github.com/dingfn/dingfn/shared/events"
)

var (
	soak    = flag.Bool("soak", false, "run the reliability suite for -soak-for with more load per round")
	soakFor = flag.Duration("soak-for", 5*time.Minute, "how long -soak injects faults")
	seed    = flag.Uint64("seed", 0, "the suite's random seed (0: one from the clock, logged)")
)

// minRounds is how many rounds a run has however long they take: a
// round that meets a token outage can last seconds of real retries.
const minRounds = 3

// load is how much one run does.
type load struct {
	chaos                     time.Duration // injecting faults, at most
	rounds                    int           // rounds at most (0: until chaos ends)
	users                     int           // the fake's organisation
	probes, contacts, notices int           // per round
	duplicates, replays       int           // per round
}

func TestReliability(t *testing.T) {
	l := load{chaos: 12 * time.Second, rounds: 6, users: 60, probes: 6, contacts: 3, notices: 2, duplicates: 2, replays: 2}
	if *soak {
		l = load{chaos: *soakFor, users: 300, probes: 20, contacts: 8, notices: 5, duplicates: 6, replays: 6}
	}
	s := *seed
	if s == 0 {
		s = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay: go test ./shared/reliability -run TestReliability -seed %d%s)", s, s, map[bool]string{true: " -soak"}[*soak])
	start := time.Now()
	// The suite stops by itself: everything below runs under this bound.
	ctx, cancel := context.WithTimeout(context.Background(), l.chaos+3*time.Minute)
	defer cancel()

	w := newWorld(t, s, l.users)
	probeN, noticeN := 0, 0
	for round := 0; ctx.Err() == nil && (round < minRounds || (l.rounds == 0 || round < l.rounds) && time.Since(start) < l.chaos); round++ {
		roundStart := time.Now()
		w.injectDingTalkFaults()
		var wg sync.WaitGroup
		// The emulator dies (SIGKILL) somewhere in the round and comes
		// back on its data file and port, at once or after an outage
		// longer than the callback's budget.
		if w.chance(0.5) {
			delay := time.Duration(w.intn(300)) * time.Millisecond
			down := time.Duration(w.intn(3)*w.intn(1000)) * time.Millisecond
			wg.Go(func() {
				t := time.NewTimer(delay)
				defer t.Stop()
				<-t.C
				w.count("emulator kills")
				if err := w.emu.restart(0.03, down); err != nil {
					w.problem("emulator restart: %v", err)
				}
			})
		}
		for range l.probes {
			probeN++
			name := fmt.Sprintf("p%d", probeN)
			wg.Go(func() { w.pushProbe(ctx, name) })
		}
		wg.Go(func() {
			for range l.contacts {
				w.contactChange(ctx)
			}
		})
		for range l.duplicates {
			wg.Go(func() { w.pushProbe(ctx, fmt.Sprintf("p%d", 1+w.intn(probeN))) })
		}
		for range l.replays {
			wg.Go(func() { w.replay(ctx) })
		}
		for range l.notices {
			noticeN++
			n := noticeN
			wg.Go(func() { w.notice(ctx, n) })
		}
		wg.Go(func() { w.syncTick(ctx, w.chance(0.5)) })
		wg.Go(func() { w.refresherTick(w.chance(0.4)) })
		wg.Wait()
		if testing.Verbose() {
			t.Logf("round %d: %v", round, time.Since(roundStart).Round(time.Millisecond))
		}
		w.watchTokens(ctx, fmt.Sprintf("round %d", round))
		w.clk.Advance(time.Duration(10+w.intn(170)) * time.Second)
	}
	chaos := time.Since(start)

	// The faults stop; the sync tick catches up on the suite's clock.
	w.ding.ClearFaults()
	if err := w.emu.restart(0, 0); err != nil {
		t.Fatalf("emulator restart: %v", err)
	}
	settled := false
	for i := 0; i < 60 && ctx.Err() == nil; i++ {
		w.clk.Advance(3 * time.Minute)
		w.syncTick(ctx, false)
		w.refresherTick(false)
		w.watchTokens(ctx, fmt.Sprintf("catch-up tick %d", i))
		if i >= 4 && w.settled(ctx) {
			settled = true
			break
		}
	}
	w.refresher.stop()
	w.collectPanics(w.refresher)
	w.report(t, chaos, time.Since(start), settled)
	w.emu.stop()
	for _, p := range w.emu.panics {
		t.Errorf("emulator: %.300s", p)
	}
	t.Logf("  emulator busy answers: %d", w.emu.busy)
}

// injectDingTalkFaults replaces DingTalk's faults with a random mix.
func (w *world) injectDingTalkFaults() {
	w.ding.ClearFaults()
	if w.chance(0.4) {
		w.ding.InjectFault("", dingtalktest.Fault{Kind: dingtalktest.FaultBusy, Share: 0.15})
		w.count("rounds with DingTalk -1")
	}
	if w.chance(0.4) {
		w.ding.InjectFault("", dingtalktest.Fault{Kind: dingtalktest.FaultBadGateway, Share: 0.15})
		w.count("rounds with DingTalk 502")
	}
	if w.chance(0.3) {
		// Slower than the callback's budget: its calls time out.
		w.ding.InjectFault("", dingtalktest.Fault{Kind: dingtalktest.FaultSlow, Delay: 1500 * time.Millisecond, Share: 0.05})
		w.count("rounds with DingTalk timeouts")
	}
	if w.chance(0.3) {
		w.ding.InjectFault("", dingtalktest.Fault{Kind: dingtalktest.FaultRateLimited, Times: 12})
		w.count("rounds with 90018 storms")
	}
	if w.chance(0.3) {
		w.ding.InjectFault("topapi/message/corpconversation/asyncsend_v2", dingtalktest.Fault{Kind: dingtalktest.FaultDropAfter, Share: 0.2})
		w.count("rounds with notices' outcome lost")
	}
	if w.chance(0.3) {
		w.ding.InvalidateTokens()
		for _, api := range []string{"topapi/message/corpconversation/asyncsend_v2", "topapi/v2/user/get", "topapi/v2/user/list"} {
			w.ding.InjectFault(api, dingtalktest.Fault{Kind: dingtalktest.FaultTokenInvalid, Times: 1})
		}
		w.count("rounds with tokens invalidated")
	}
	if w.chance(0.2) {
		// DingTalk's token endpoints down while the token is invalid:
		// no function can get one for a while.
		w.ding.InvalidateTokens()
		for _, api := range []string{"gettoken", "v1.0/oauth2/accessToken"} {
			w.ding.InjectFault(api, dingtalktest.Fault{Kind: dingtalktest.FaultBadGateway, Times: 8})
		}
		w.count("rounds without tokens")
	}
}

// settled reports whether every accepted probe is done in the log and
// the mirror equals the organisation.
func (w *world) settled(ctx context.Context) bool {
	w.mu.Lock()
	names := slices.Collect(maps.Keys(w.accepted))
	w.mu.Unlock()
	for _, n := range names {
		if !w.probeDone(ctx, n) {
			return false
		}
	}
	w.mu.Lock()
	ids := slices.Collect(maps.Values(w.noticeOK))
	w.mu.Unlock()
	for _, id := range ids {
		parts, err := w.noticeParts(ctx, id)
		if err != nil {
			return false
		}
		for _, p := range parts {
			if p.State == "pending" || p.State == "sending" {
				return false
			}
		}
	}
	diff, err := directorytest.Diff(ctx, w.watch.Store, w.ding.Org())
	return err == nil && len(diff) == 0
}

// probeDone reports whether probe n ran and its event is done in the log.
func (w *world) probeDone(ctx context.Context, n string) bool {
	w.mu.Lock()
	runs, payload := w.runs[n], w.probes[n]
	w.mu.Unlock()
	if runs == 0 {
		return false
	}
	ev, err := events.NewEvent(payload, events.SourcePush, w.clk.Now())
	if err != nil {
		return false
	}
	e, err := w.log.Get(ctx, ev.ID)
	return err == nil && e.Status == events.StatusDone
}

// report asserts the suite's promises.
func (w *world) report(t *testing.T, chaos, total time.Duration, settled bool) {
	ctx := context.Background()
	w.mu.Lock()
	defer w.mu.Unlock()
	t.Logf("chaos %v, total %v; %d callback replies, %d probes accepted of %d, %d reruns after lost outcomes; %d tokens/tickets issued; %d secrets scanned for in %d bytes",
		chaos.Round(time.Millisecond), total.Round(time.Millisecond), len(w.replies), len(w.accepted), len(w.probes), w.reruns, len(w.issued), w.scan.Secrets(), w.scan.Scanned())
	for _, k := range slices.Sorted(maps.Keys(w.counts)) {
		t.Logf("  %s: %d", k, w.counts[k])
	}
	if !settled {
		t.Errorf("the bundle did not settle after the faults stopped")
	}
	// No accepted event lost.
	for _, n := range slices.Sorted(maps.Keys(w.accepted)) {
		if w.runs[n] == 0 {
			t.Errorf("probe %s: accepted with an encrypted success, never processed", n)
		}
	}
	w.mu.Unlock()
	for _, n := range slices.Sorted(maps.Keys(w.accepted)) {
		if !w.probeDone(ctx, n) {
			t.Errorf("probe %s: accepted, not done in the event log", n)
		}
	}
	w.mu.Lock()
	// No event processed twice.
	if len(w.doubles) > 0 {
		t.Errorf("handlers ran again for events already stored done: %v", w.doubles)
	}
	// No notice sent twice.
	sent := map[string]map[string]int{}
	for _, n := range w.ding.WorkNotices() {
		for key := range w.notices {
			if strings.Contains(string(n.Msg), "reliability notice "+key+`"`) {
				if sent[key] == nil {
					sent[key] = map[string]int{}
				}
				for _, u := range n.UserIDs {
					sent[key][u]++
				}
			}
		}
	}
	delivered := 0
	for key, users := range sent {
		for u, c := range users {
			delivered++
			if c > 1 {
				t.Errorf("notice %s sent to %s %d times", key, u, c)
			}
		}
	}
	t.Logf("notices: %d keys, %d answered 2xx, %d (key, recipient) sends", len(w.notices), len(w.noticeOK), delivered)
	// No accepted notice lost: each part of a notice notify accepted is
	// sent, or unknown when DingTalk's answer was lost (never resent).
	// Nothing in the suite makes DingTalk refuse a notice for good.
	w.mu.Unlock()
	for _, key := range slices.Sorted(maps.Keys(w.noticeOK)) {
		parts, err := w.noticeParts(ctx, w.noticeOK[key])
		if err != nil {
			t.Errorf("notice %s: %v", key, err)
			continue
		}
		for _, p := range parts {
			switch p.State {
			case "sent":
			case "unknown":
				w.count("notice parts unknown")
			default:
				t.Errorf("notice %s part %d: %s after the catch-up: %s", key, p.N, p.State, p.Error)
			}
		}
	}
	w.mu.Lock()
	// The mirror equals the organisation.
	if diff, err := directorytest.Diff(ctx, w.watch.Store, w.ding.Org()); err != nil {
		t.Errorf("reading the mirror: %v", err)
	} else if len(diff) > 0 {
		t.Errorf("the mirror differs from the fake's organisation:\n%s", strings.Join(diff, "\n"))
	}
	// And as notify and the console read it: through directory.Reader,
	// every current member by userid and unionid, and no one else.
	org := w.ding.Org()
	r := directory.NewReader(w.watch.Store)
	members := 0
	for _, err := range r.Users(ctx) {
		if err != nil {
			t.Errorf("Reader.Users: %v", err)
			break
		}
		members++
	}
	if members != len(org.Users) {
		t.Errorf("Reader.Users lists %d members, the organisation has %d", members, len(org.Users))
	}
	for _, want := range org.Users {
		got, err := r.User(ctx, want.UserID)
		if err != nil || got.Name != want.Name || !got.LeftAt.IsZero() {
			t.Errorf("Reader.User(%s): %+v, %v; want %s, a member", want.UserID, got, err, want.Name)
			continue
		}
		if byUnion, err := r.UserByUnionID(ctx, want.UnionID); err != nil || byUnion.UserID != want.UserID {
			t.Errorf("Reader.UserByUnionID(%s): %s, %v; want %s", want.UnionID, byUnion.UserID, err, want.UserID)
		}
	}
	// Callback replies within DingTalk's deadline.
	slowest := time.Duration(0)
	for _, d := range w.replies {
		slowest = max(slowest, d)
	}
	t.Logf("slowest callback reply %v", slowest.Round(time.Millisecond))
	if slowest >= callbackLimit {
		t.Errorf("a callback reply took %v, DingTalk gives up at %v", slowest, callbackLimit)
	}
	// Token regressions and panics, seen on the way.
	for _, p := range w.problems {
		t.Error(p)
	}
	// No secret anywhere.
	for _, h := range w.scan.Hits() {
		t.Errorf("secret leaked: %s", h)
	}
	if len(w.issued) == 0 {
		t.Errorf("the secret scan learnt no issued token")
	}
	// Every stream the scan promises was scanned.
	streams := w.scan.Streams()
	for _, want := range []string{"callback log", "notify log", "sync log", "token-refresher log", "emulator log",
		"callback request", "callback response", "notify-0 request", "notify-1 response",
		"dingtalk request", "dingtalk response", "dingtalk push request", "dingtalk push response"} {
		n := int64(0)
		for where, b := range streams {
			if where == want || strings.HasPrefix(where, want+" ") {
				n += b
			}
		}
		if n == 0 {
			t.Errorf("the secret scan saw nothing of %s", want)
		}
	}
}
