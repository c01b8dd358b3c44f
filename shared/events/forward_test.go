package events_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/events"
	"github.com/dingfn/dingfn/shared/store/storetest"
)

const forwardSecret = "forward-secret-for-tests-0001"

// receiverSrv is a forwarding target that verifies each delivery as the
// README tells receivers to, and answers 503 while down.
type receiverSrv struct {
	t     *testing.T
	now   func() time.Time
	mu    sync.Mutex
	down  bool
	got   map[string]int // verified deliveries answered 2xx, by id
	tries int
	bad   []string
}

func (rc *receiverSrv) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.tries++
	if err := events.VerifyForward(forwardSecret, r.Header.Get(events.HeaderSignature), body, rc.now(), 5*time.Minute); err != nil {
		rc.bad = append(rc.bad, err.Error())
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var b map[string]json.RawMessage
	if err := json.Unmarshal(body, &b); err != nil {
		rc.bad = append(rc.bad, err.Error())
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range b {
			if !yield(k) {
				return
			}
		}
	})
	if !slices.Equal(keys, []string{"corp_id", "event", "id", "received_at", "type"}) || r.Header.Get("Content-Type") != "application/json" {
		rc.bad = append(rc.bad, fmt.Sprintf("body keys %v, content type %q", keys, r.Header.Get("Content-Type")))
	}
	var id string
	_ = json.Unmarshal(b["id"], &id)
	if id != r.Header.Get(events.HeaderEventID) {
		rc.bad = append(rc.bad, "X-Dingfn-Event-Id "+r.Header.Get(events.HeaderEventID)+" != body id "+id)
	}
	if rc.down {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	rc.got[id]++
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiverSrv) delivered(id string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.got[id]
}

// TestForwardReceiverDownThenUp: a receiver down for a while gets every
// event once it is up, each event exactly once per URL however many rules
// match, and no delivery is marked done before the receiver accepted it.
func TestForwardReceiverDownThenUp(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		rc := &receiverSrv{t: t, now: e.clock.Now, down: true, got: map[string]int{}}
		srv := httptest.NewServer(rc)
		t.Cleanup(srv.Close)
		other := &receiverSrv{t: t, now: e.clock.Now, got: map[string]int{}}
		srv2 := httptest.NewServer(other)
		t.Cleanup(srv2.Close)
		rules, err := events.ParseForwardRules(fmt.Sprintf("user_*=%s/hook, user_add_org=%s/hook ,bpms_*=%s/b", srv.URL, srv.URL, srv2.URL))
		if err != nil {
			t.Fatal(err)
		}
		if err := events.RegisterForwards(e.mux, rules, forwardSecret, events.WithForwardClock(e.clock.Now)); err != nil {
			t.Fatal(err)
		}
		name := events.ForwardRouteName(srv.URL + "/hook")
		var ids []string
		for i := range 5 {
			raw := fmt.Sprintf(`{"EventType":"user_add_org","UserId":["u%d"],"TimeStamp":%d,"CorpId":"dingCorp"}`, i, 1772442000000+i)
			ids = append(ids, idOf(t, raw))
			if err := e.push(raw); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.push(`{"EventType":"bpms_instance_change","processInstanceId":"p1","EventTime":1772442000000,"type":"start"}`); err != nil {
			t.Fatal(err)
		}
		check := func() {
			t.Helper()
			for _, id := range ids {
				en := e.entry(id)
				if en.Results[name].Status == events.StatusDone && rc.delivered(id) == 0 {
					t.Fatalf("%s is marked delivered but the receiver never accepted it", id)
				}
			}
		}
		check()
		for range 3 { // down for three retries
			e.clock.Advance(10 * time.Minute)
			e.drain()
			check()
		}
		rc.mu.Lock()
		rc.down = false
		rc.mu.Unlock()
		e.clock.Advance(time.Hour)
		e.drain()
		check()
		for _, id := range ids {
			if n := rc.delivered(id); n != 1 {
				t.Errorf("%s delivered %d times, want 1", id, n)
			}
			if en := e.entry(id); en.Status != events.StatusDone || en.Results[name].Attempts != 4 {
				t.Errorf("%s: %s, %+v", id, en.Status, en.Results[name])
			}
		}
		if len(other.got) != 1 {
			t.Errorf("the bpms target got %v", other.got)
		}
		if len(rc.bad) > 0 || len(other.bad) > 0 {
			t.Errorf("receivers refused deliveries: %v %v", rc.bad, other.bad)
		}
	})
}

// TestForwardDeadAfterAttempts: a receiver that never comes back makes
// the event dead after the maximum attempts; it is kept for a replay.
func TestForwardDeadAfterAttempts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.Memory(), events.WithMaxAttempts(2))
	rc := &receiverSrv{t: t, now: e.clock.Now, down: true, got: map[string]int{}}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	if err := events.RegisterForwards(e.mux, []events.ForwardRule{{Pattern: "*", URL: srv.URL}}, forwardSecret, events.WithForwardClock(e.clock.Now)); err != nil {
		t.Fatal(err)
	}
	if err := e.push(userAdd); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	e.drain()
	en := e.entry(idOf(t, userAdd))
	if en.Status != events.StatusDead || !strings.Contains(en.LastError, "HTTP 503") || rc.tries != 2 {
		t.Errorf("entry %s (%q) after %d tries, want dead after 2", en.Status, en.LastError, rc.tries)
	}
}

func TestParseForwardRules(t *testing.T) {
	t.Parallel()
	rules, err := events.ParseForwardRules(" user_*=https://hooks.example.com/a?k=1 , *=http://127.0.0.1:8080/x,bpms_task_change=http://localhost/y,,x=http://[::1]:9/z")
	if err != nil {
		t.Fatal(err)
	}
	want := []events.ForwardRule{{"user_*", "https://hooks.example.com/a?k=1"}, {"*", "http://127.0.0.1:8080/x"}, {"bpms_task_change", "http://localhost/y"}, {"x", "http://[::1]:9/z"}}
	if !slices.Equal(rules, want) {
		t.Errorf("rules = %v, want %v", rules, want)
	}
	if r, err := events.ParseForwardRules(""); err != nil || r != nil {
		t.Errorf("empty = %v, %v", r, err)
	}
	_, err = events.ParseForwardRules("user_*=http://hooks.example.com/a,no-equals,a b=https://x.example,*=ftp://x.example/SECRETPATH,*=https://u:p@x.example/,*=https://x.example/?access_token=SECRETVALUE&x=1#frag")
	var fe *events.ForwardRulesError
	if !errors.As(err, &fe) || len(fe.Problems) != 6 {
		t.Fatalf("error %v, want 6 problems", err)
	}
	if strings.Contains(err.Error(), "SECRETVALUE") || strings.Contains(err.Error(), "SECRETPATH") || strings.Contains(err.Error(), ":p@") {
		t.Errorf("error shows a secret: %v", err)
	}
	for _, want := range []string{"loopback", "pattern=url", `pattern "a b"`, "scheme must be https"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestSignForward(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":"e1"}`)
	at := time.Unix(1772442000, 0)
	sig := events.SignForward("s3cret-s3cret-s3cret", at, body)
	// printf '1772442000.{"id":"e1"}' | openssl dgst -sha256 -hmac s3cret-s3cret-s3cret
	const want = "t=1772442000,v1=bc65cfb6ca9b0ecb0cc7547c4055601225465a67b16028c38f61b4a1ef9ff8a4"
	if sig != want {
		t.Errorf("signature %s, want %s", sig, want)
	}
	for _, tt := range []struct {
		name, header string
		body         []byte
		now          time.Time
		err          error
	}{
		{"good", sig, body, at.Add(time.Minute), nil},
		{"rotated secrets", sig + ",v1=00ff", body, at, nil},
		{"tampered body", sig, []byte(`{"id":"e2"}`), at, events.ErrBadSignature},
		{"stale", sig, body, at.Add(time.Hour), events.ErrStaleForward},
		{"garbage", "v1=zz", body, at, events.ErrBadSignature},
		{"other secret", events.SignForward("another-secret-0000", at, body), body, at, events.ErrBadSignature},
	} {
		if err := events.VerifyForward("s3cret-s3cret-s3cret", tt.header, tt.body, tt.now, 5*time.Minute); !errors.Is(err, tt.err) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.err)
		}
	}
}

// TestREADMEVerifySnippet runs the README's Python verification snippet
// against signatures this package makes, so the two stay in step. It
// skips when python3 is not installed.
func TestREADMEVerifySnippet(t *testing.T) {
	t.Parallel()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed; the README's snippet is not checked")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```python\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README has no python snippet")
	}
	body := []byte(`{"id":"ev-1","type":"user_add_org","corp_id":"dingCorp","received_at":"2026-03-02T09:00:00Z","event":{"EventType":"user_add_org"}}`)
	good := events.SignForward(forwardSecret, time.Now(), body)
	script := string(m[1]) + `
import sys
body = sys.stdin.buffer.read()
print(verify(body, sys.argv[1], sys.argv[2]), verify(body + b" ", sys.argv[1], sys.argv[2]), verify(body, sys.argv[1], "wrong-secret-0000"), verify(body, sys.argv[3], sys.argv[2]))
`
	stale := events.SignForward(forwardSecret, time.Now().Add(-time.Hour), body)
	cmd := exec.Command(py, "-c", script, good, forwardSecret, stale)
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "True False False False" {
		t.Errorf("snippet says %q, want True False False False (good, tampered, wrong secret, stale)", got)
	}
}
