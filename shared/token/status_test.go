package token

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/lease"
)

// Status reads the store only, names the process that fetched each value
// and never carries the value itself.
func TestStatus(t *testing.T) {
	clk, st, up, p := setup(t)
	ctx := context.Background()

	got, err := p.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Kind != AccessToken || got[1].Kind != JSAPITicket || got[0].Stored || got[1].Stored {
		t.Fatalf("empty store: got %+v, want two absent values in Kinds order", got)
	}
	if n := up.tokenCalls.Load() + up.ticketCalls.Load(); n != 0 {
		t.Fatalf("Status called DingTalk %d times", n)
	}

	fetched := clk.Now()
	tok, err := p.AccessToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ticket, err := p.JSAPITicket(ctx)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(10 * time.Minute)
	got, err = p.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range got {
		if !s.Stored || !s.FetchedAt.Equal(fetched) || !s.ExpiresAt.Equal(fetched.Add(2*time.Hour)) {
			t.Errorf("%s: got %+v, want stored, fetched at %v, expiring 2 h later", s.Kind, s, fetched)
		}
		if s.FetchedBy != lease.HolderID() {
			t.Errorf("%s: fetched by %q, want this process %q", s.Kind, s.FetchedBy, lease.HolderID())
		}
	}
	if got[1].IssuedAt.IsZero() || !got[1].HardExpiresAt.Equal(got[1].IssuedAt.Add(TicketHardLimit)) {
		t.Errorf("ticket limits: got %+v", got[1])
	}
	b, _ := json.Marshal(got)
	if strings.Contains(string(b), tok) || strings.Contains(string(b), ticket) {
		t.Fatalf("status shows a value: %s", b)
	}

	if _, err := st.Put(ctx, DefaultTable, store.Item{Key: Key(AccessToken, "dingapp"), Value: []byte(`{"kind":"access_token","app_key":"other","value":"x","expires_at":"2030-01-01T00:00:00Z"}`)}, store.Always); err != nil {
		t.Fatal(err)
	}
	if got, err = p.Status(ctx); err != nil || got[0].Stored || !got[0].Malformed {
		t.Fatalf("another app's row: got %+v, %v; want malformed", got, err)
	}

	st.setFail(errors.New("tablestore: 503"))
	if _, err := p.Status(ctx); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("store down: got %v, want its error", err)
	}
}
