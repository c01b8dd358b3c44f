package dingtalk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/clocktest"
	"golang.org/x/time/rate"
)

// manualSleep is a sleep on a manual clock: it moves the clock by d and
// records d.
type manualSleep struct {
	clk *clocktest.Manual
	mu  sync.Mutex
	got []time.Duration
}

func (m *manualSleep) sleep(ctx context.Context, d time.Duration) error {
	m.mu.Lock()
	m.got = append(m.got, d)
	m.mu.Unlock()
	m.clk.Advance(d)
	return ctx.Err()
}

func (m *manualSleep) slept() []time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]time.Duration(nil), m.got...)
}

var t0 = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

func TestBucketSlowsDownOncePerEpoch(t *testing.T) {
	t.Parallel()
	b := newBucket("api", RateLimit{15, 3})
	b.slowDown(t0, 0)
	if got := b.rate(); got != 7.5 {
		t.Fatalf("after one 90018: rate %v, want 7.5", got)
	}
	// Answers to calls sent before the slow-down do not count again.
	b.slowDown(t0, 0)
	if got := b.rate(); got != 7.5 {
		t.Fatalf("after a stale 90018: rate %v, want 7.5", got)
	}
	if got := b.burst(); got != 1 {
		t.Errorf("burst at 7.5/s = %d, want 1 (3 scaled by half, rounded down)", got)
	}
	for e := uint64(1); e < 20; e++ {
		b.slowDown(t0, e)
	}
	if got, floor := b.rate(), rate.Limit(15.0/16); got != floor {
		t.Fatalf("after many: rate %v, want the floor %v", got, floor)
	}
}

func TestBucketRegainsUpToTheCeiling(t *testing.T) {
	t.Parallel()
	clk := clocktest.New(t0)
	s := &manualSleep{clk: clk}
	b := newBucket("api", RateLimit{10, 1})
	b.slowDown(t0, 0) // 5/s
	clk.Advance(2 * time.Second)
	if _, err := b.wait(context.Background(), clk.Now, s.sleep); err != nil {
		t.Fatal(err)
	}
	if got := b.rate(); got != 6 {
		t.Fatalf("2 s after halving to 5/s: rate %v, want 6 (a twentieth of 10 per second)", got)
	}
	clk.Advance(time.Hour)
	if _, err := b.wait(context.Background(), clk.Now, s.sleep); err != nil {
		t.Fatal(err)
	}
	if got := b.rate(); got != 10 {
		t.Fatalf("an hour later: rate %v, want the ceiling 10", got)
	}
}

// TestSlowDownRequeuesTheWaitingCall: the call holding a place taken at
// the old rate is woken by a slow-down and waits at the new rate.
func TestSlowDownRequeuesTheWaitingCall(t *testing.T) {
	t.Parallel()
	clk := clocktest.New(t0)
	b := newBucket("api", RateLimit{10, 1})
	if _, err := b.wait(context.Background(), clk.Now, (&manualSleep{clk: clk}).sleep); err != nil {
		t.Fatal(err)
	}
	parked := make(chan struct{})
	var slept []time.Duration
	sleep := func(ctx context.Context, d time.Duration) error {
		slept = append(slept, d)
		if len(slept) == 1 {
			close(parked)
			<-ctx.Done() // woken by the slow-down only
			return ctx.Err()
		}
		clk.Advance(d)
		return nil
	}
	done := make(chan uint64)
	go func() {
		epoch, err := b.wait(context.Background(), clk.Now, sleep)
		if err != nil {
			t.Error(err)
		}
		done <- epoch
	}()
	<-parked
	b.slowDown(clk.Now(), 0)
	if epoch := <-done; epoch != 1 {
		t.Errorf("let through in epoch %d, want 1", epoch)
	}
	if want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}; !reflect.DeepEqual(slept, want) {
		t.Errorf("waits %v, want %v (10/s, then 5/s)", slept, want)
	}
}

// TestQueueFailsFastPastTheDeadline: a caller that would wait behind the
// queue past its deadline is refused at once.
func TestQueueFailsFastPastTheDeadline(t *testing.T) {
	t.Parallel()
	clk := clocktest.New(t0)
	b := newBucket("api", RateLimit{1, 1})
	if _, err := b.wait(context.Background(), clk.Now, (&manualSleep{clk: clk}).sleep); err != nil {
		t.Fatal(err)
	}
	// The next place is 1 s away; 1.5 s fits, 0.5 s does not.
	ctx := deadlineCtx{context.Background(), t0.Add(500 * time.Millisecond)}
	if _, err := b.wait(ctx, clk.Now, (&manualSleep{clk: clk}).sleep); !errors.Is(err, ErrClientRateLimit) {
		t.Fatalf("err = %v, want ErrClientRateLimit", err)
	}
	s := &manualSleep{clk: clk}
	if _, err := b.wait(deadlineCtx{context.Background(), t0.Add(1500 * time.Millisecond)}, clk.Now, s.sleep); err != nil {
		t.Fatal(err)
	}
	if got := s.slept(); !reflect.DeepEqual(got, []time.Duration{time.Second}) {
		t.Errorf("waits %v, want [1s]", got)
	}
}

func TestUnlimitedBucketNeverAdapts(t *testing.T) {
	t.Parallel()
	b := newBucket("api", RateLimit{rate.Inf, 0})
	b.slowDown(t0, 0)
	if got := b.rate(); got != rate.Inf {
		t.Fatalf("rate %v, want Inf", got)
	}
	clk := clocktest.New(t0)
	s := &manualSleep{clk: clk}
	for range 100 {
		if _, err := b.wait(context.Background(), clk.Now, s.sleep); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.slept()) != 0 {
		t.Errorf("an unlimited bucket waited %v", s.slept())
	}
}

// TestRateLimitAnswersSlowTheirAPIDown: 90018 slows the API that got it,
// not another; the per-IP block, which is about the host, slows none.
func TestRateLimitAnswersSlowTheirAPIDown(t *testing.T) {
	t.Parallel()
	e := setup(t, WithRateLimit(15, 3))
	e.client.now = clocktest.New(t0).Now // frozen: setup's sleep does not move it
	scripted(t, e, "/topapi/v2/user/get", `{"errcode":90018}`, okUser)
	scripted(t, e, "/topapi/user/listid", `{"status":1111,"wait":5,"source":"x5","punish":"deny","uuid":"u"}`)
	ctx := context.Background()
	if _, err := e.client.Contact.GetUser(ctx, "u1", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Contact.ListUserIDs(ctx, 1); !IsRateLimited(err) {
		t.Fatalf("err = %v, want the per-IP block", err)
	}
	if got := e.client.limits.get("topapi/v2/user/get", RateLimit{}).rate(); got != 7.5 {
		t.Errorf("user/get rate %v after a 90018, want 7.5", got)
	}
	if got := e.client.limits.get("topapi/user/listid", RateLimit{}).rate(); got != 15 {
		t.Errorf("user/listid rate %v after the per-IP block, want 15", got)
	}
}

// TestRobotSignedAfterTheLimiter: on the client's clock, a message held
// back by its robot's limiter for 90 minutes is signed when it leaves.
func TestRobotSignedAfterTheLimiter(t *testing.T) {
	t.Parallel()
	e := setup(t, WithRobotRateLimit(rate.Every(90*time.Minute), 1))
	clk := clocktest.New(t0)
	s := &manualSleep{clk: clk}
	e.client.now, e.client.sleep = clk.Now, s.sleep
	var stamps []int64
	e.handle(t, http.MethodPost, "/robot/send", func(r *http.Request) {
		ts, err := strconv.ParseInt(r.URL.Query().Get("timestamp"), 10, 64)
		if err != nil {
			t.Errorf("timestamp: %v", err)
		}
		stamps = append(stamps, ts)
	}, `{"errcode":0}`)
	hook := Webhook{AccessToken: "robot-tok", Secret: "SECx"}
	for i := range 2 {
		if err := e.client.Robot.Send(context.Background(), hook, RobotText(fmt.Sprint("消息 ", i))); err != nil {
			t.Fatal(err)
		}
	}
	want := []int64{t0.UnixMilli(), t0.Add(90 * time.Minute).UnixMilli()}
	if !reflect.DeepEqual(stamps, want) {
		t.Errorf("timestamps %v, want %v (the second signed after its 90-minute wait)", stamps, want)
	}
	if got := s.slept(); !reflect.DeepEqual(got, []time.Duration{90 * time.Minute}) {
		t.Errorf("waits %v, want [1h30m0s] on the client's clock", got)
	}
}
