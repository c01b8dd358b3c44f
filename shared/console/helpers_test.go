package console_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/dingfn/dingfn/shared/devserver"
)

// startDev runs `dingfn dev` against the simulated DingTalk on a memory
// store, with the timers off: the tests run ticks themselves.
func startDev(t *testing.T) *devserver.Server {
	t.Helper()
	env := map[string]string{"DINGFN_STORE": "memory"}
	s, err := devserver.Start(context.Background(), devserver.Options{
		Addr:         "127.0.0.1:0",
		Simulate:     true,
		Getenv:       func(k string) string { return env[k] },
		Logger:       slog.New(slog.DiscardHandler),
		SyncEvery:    -1,
		RefreshEvery: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// do sends one request and returns the status and the body.
func do(t *testing.T, method, url, body string, header ...string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// postJSON posts a console action as the page does.
func postJSON(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	code, b := do(t, http.MethodPost, url, body, "Content-Type", "application/json")
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("POST %s: status %d, body %s: %v", url, code, b, err)
	}
	return code, m
}

// secrets lists every credential of a dev session: what the page must
// never receive.
func secrets(t *testing.T, s *devserver.Server) map[string]string {
	t.Helper()
	cfg := s.Bundle.Config
	token, aesKey := s.Fake.EventSubscription()
	out := map[string]string{
		"app secret": cfg.AppSecret, "callback token": cfg.CallbackToken, "callback AES key": cfg.CallbackAESKey,
		"subscription token": token, "subscription AES key": aesKey, "notify API key": s.NotifyAPIKey,
		"access token": s.Fake.AccessToken(), "jsapi ticket": s.Fake.JSAPITicket(),
	}
	for i, m := range s.Fake.RobotMessages("") {
		if i == 0 {
			out["robot webhook token"] = m.Token
		}
	}
	for name, v := range out {
		if len(v) < 8 {
			t.Fatalf("%s %q is too short to search for", name, v)
		}
	}
	return out
}

// leaked names the secrets b contains.
func leaked(b []byte, secrets map[string]string) []string {
	var out []string
	for name, v := range secrets {
		if bytes.Contains(b, []byte(v)) {
			out = append(out, name)
		}
	}
	return out
}

// sse is an open /console/api/stream: every event it sends, in order,
// and every byte, for the secrets check.
type sse struct {
	events chan sseEvent
	// last is the latest data of each event name read so far: a view is
	// sent again only when it changes, so a wait must start from it.
	last map[string][]byte
	mu   sync.Mutex
	raw  bytes.Buffer
}

type sseEvent struct {
	name string
	data []byte
}

// openStream opens the stream; it closes with the test.
func openStream(t *testing.T, base string) *sse {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/console/api/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("stream: status %d, Content-Type %q", resp.StatusCode, ct)
	}
	s := &sse{events: make(chan sseEvent, 1024), last: map[string][]byte{}}
	done := make(chan struct{})
	t.Cleanup(func() {
		cancel()
		resp.Body.Close()
		<-done
	})
	go func() {
		defer close(done)
		defer close(s.events)
		sc := bufio.NewScanner(io.TeeReader(resp.Body, writerFunc(func(p []byte) {
			s.mu.Lock()
			s.raw.Write(p)
			s.mu.Unlock()
		})))
		sc.Buffer(make([]byte, 1<<20), 8<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = []byte(strings.TrimPrefix(line, "data: "))
			case line == "" && ev.name != "":
				select {
				case s.events <- ev:
				case <-ctx.Done():
					return
				}
				ev = sseEvent{}
			}
		}
	}()
	return s
}

type writerFunc func([]byte)

func (f writerFunc) Write(p []byte) (int, error) { f(p); return len(p), nil }

// until reads the stream until an event named name satisfies ok, and
// returns its data, starting from the latest one already read. It fails the test when the stream ends or ctx (the
// test's deadline) passes first.
func (s *sse) until(t *testing.T, ctx context.Context, name string, ok func(data []byte) bool) []byte {
	t.Helper()
	if b, seen := s.last[name]; seen && ok(b) {
		return b
	}
	for {
		select {
		case ev, open := <-s.events:
			if !open {
				t.Fatalf("the stream ended before a %s event as expected", name)
			}
			if ev.name == "view-error" {
				t.Fatalf("the stream reports a failed view: %s", ev.data)
			}
			s.last[ev.name] = ev.data
			if ev.name == name && ok(ev.data) {
				return ev.data
			}
		case <-ctx.Done():
			t.Fatalf("no %s event as expected before the deadline", name)
		}
	}
}

func (s *sse) bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.raw.Bytes())
}
