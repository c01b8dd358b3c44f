package token

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/store"
)

func TestNewRefresherValidates(t *testing.T) {
	_, _, _, p := setup(t)
	tests := []struct {
		name      string
		providers []*Provider
		opts      []RefresherOption
	}{
		{"no providers", nil, nil},
		{"nil provider", []*Provider{nil}, nil},
		{"margin not above read margin", []*Provider{p}, []RefresherOption{WithRefreshMargin(DefaultReadMargin)}},
		{"margin beyond lifetime", []*Provider{p}, []RefresherOption{WithRefreshMargin(3 * time.Hour)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewRefresher(tt.providers, tt.opts...); err == nil {
				t.Fatal("got nil error, want one")
			}
		})
	}
}

func TestRefresherTick(t *testing.T) {
	clk, st, up := newFakes()
	r, err := NewRefresher([]*Provider{newTestProvider(t, st, up, clk)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	steps := []struct {
		name          string
		advance       time.Duration
		wantRefreshed bool
		wantExpiresIn int64
		wantCalls     int64
	}{
		{"cold store", 0, true, 7200, 1},
		{"fresh values are left alone", 10 * time.Minute, false, 6600, 1},
		{"31 minutes left", 79 * time.Minute, false, 1860, 1},
		{"29 minutes left", 2 * time.Minute, true, 7200, 2},
	}
	for _, s := range steps {
		clk.Advance(s.advance)
		rep, err := r.Tick(ctx)
		if err != nil {
			t.Fatalf("%s: Tick: %v", s.name, err)
		}
		if !rep.OK || len(rep.Apps) != 1 || rep.Apps[0].AppKey != "dingapp" {
			t.Fatalf("%s: report %+v", s.name, rep)
		}
		for k, v := range map[Kind]ValueReport{AccessToken: rep.Apps[0].AccessToken, JSAPITicket: rep.Apps[0].JSAPITicket} {
			if v.Refreshed != s.wantRefreshed || v.ExpiresInSeconds != s.wantExpiresIn || v.Error != "" {
				t.Errorf("%s: %s = %+v, want refreshed %v, expires in %d s", s.name, k, v, s.wantRefreshed, s.wantExpiresIn)
			}
		}
		if a, k := up.tokenCalls.Load(), up.ticketCalls.Load(); a != s.wantCalls || k != s.wantCalls {
			t.Errorf("%s: upstream calls token %d ticket %d, want %d each", s.name, a, k, s.wantCalls)
		}
	}
}

func TestRefresherReportJSON(t *testing.T) {
	_, _, _, p := setup(t)
	r, _ := NewRefresher([]*Provider{p})
	rep, err := r.Tick(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := p.AccessToken(context.Background())
	tk, _ := p.JSAPITicket(context.Background())
	if strings.Contains(string(b), tok) || strings.Contains(string(b), tk) {
		t.Fatalf("report contains a secret: %s", b)
	}
	var doc struct {
		OK   bool `json:"ok"`
		Apps []struct {
			AppKey      string         `json:"app_key"`
			AccessToken map[string]any `json:"access_token"`
			JSAPITicket map[string]any `json:"jsapi_ticket"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if !doc.OK || len(doc.Apps) != 1 {
		t.Fatalf("report = %s", b)
	}
	for _, v := range []map[string]any{doc.Apps[0].AccessToken, doc.Apps[0].JSAPITicket} {
		if v["refreshed"] != true || v["expires_in_seconds"] != float64(7200) {
			t.Fatalf("value report = %v in %s", v, b)
		}
	}
}

// TestRefresherReportsFailure: DingTalk failing during the refresh is
// reported (and fails the tick) while readers keep the old, valid values.
func TestRefresherReportsFailure(t *testing.T) {
	faults := []error{
		errors.New("dingtalk: errcode -1: system busy"),
		errors.New("dingtalk: HTTP 502 Bad Gateway"),
		context.DeadlineExceeded,
	}
	for _, fault := range faults {
		t.Run(fault.Error(), func(t *testing.T) {
			clk, st, up := newFakes()
			r, _ := NewRefresher([]*Provider{newTestProvider(t, st, up, clk)})
			reader := newTestProvider(t, st, up, clk)
			ctx := context.Background()
			if _, err := r.Tick(ctx); err != nil {
				t.Fatal(err)
			}
			oldTok, _ := reader.AccessToken(ctx)
			oldTk, _ := reader.JSAPITicket(ctx)

			clk.Advance(95 * time.Minute)
			up.setErr(fault)
			rep, err := r.Tick(ctx)
			if err == nil || rep.OK {
				t.Fatalf("Tick = %+v, %v; want a failed report and an error", rep, err)
			}
			for k, v := range map[Kind]ValueReport{AccessToken: rep.Apps[0].AccessToken, JSAPITicket: rep.Apps[0].JSAPITicket} {
				if v.Refreshed || v.Error == "" || v.ExpiresInSeconds != 25*60 {
					t.Errorf("%s report = %+v, want an error and 1500 s left", k, v)
				}
			}
			for range 10 {
				tok, err1 := reader.AccessToken(ctx)
				tk, err2 := reader.JSAPITicket(ctx)
				if err1 != nil || err2 != nil || tok != oldTok || tk != oldTk {
					t.Fatalf("reader during outage: %v %v; want the old values", err1, err2)
				}
			}
			// Past expiry the report says nothing is left.
			clk.Advance(26 * time.Minute)
			rep, err = r.Tick(ctx)
			if err == nil || rep.Apps[0].AccessToken.ExpiresInSeconds != 0 || !errors.Is(err, ErrUnavailable) {
				t.Fatalf("after expiry: %+v, %v", rep.Apps[0].AccessToken, err)
			}
			up.setErr(nil)
			if rep, err := r.Tick(ctx); err != nil || !rep.Apps[0].AccessToken.Refreshed {
				t.Fatalf("after recovery: %+v, %v", rep, err)
			}
		})
	}
}

// TestRefresherWaitsForLeaseHolder: the refresher waits for another
// instance's refresh instead of reporting a stale value, and takes over a
// dead instance's lease when it expires.
func TestRefresherWaitsForLeaseHolder(t *testing.T) {
	clk, st, _, p := setup(t)
	p.sleep = func(ctx context.Context, d time.Duration) error { clk.Advance(d); return nil }
	r, _ := NewRefresher([]*Provider{p})
	ctx := context.Background()
	if _, err := r.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(95 * time.Minute)
	dead := store.Item{Key: LeaseKey(AccessToken, "dingapp"), Value: []byte(`{"holder":"crashed"}`), ExpiresAt: clk.Now().Add(DefaultLeaseTTL)}
	if _, err := st.Put(ctx, DefaultTable, dead, store.IfAbsent); err != nil {
		t.Fatal(err)
	}
	rep, err := r.Tick(ctx)
	if err != nil || !rep.Apps[0].AccessToken.Refreshed {
		t.Fatalf("Tick = %+v, %v; want the token refreshed after the dead lease expired", rep.Apps[0].AccessToken, err)
	}
}

// Kinds hands out a copy: the refresh order cannot be changed from outside.
func TestKindsIsACopy(t *testing.T) {
	t.Parallel()
	k := Kinds()
	k[0] = JSAPITicket
	if got := Kinds(); len(got) != 2 || got[0] != AccessToken || got[1] != JSAPITicket {
		t.Errorf("Kinds() after a caller changed its copy: got %v, want [%s %s]", got, AccessToken, JSAPITicket)
	}
}
