package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/httpapi"
)

func TestServeLocal(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := newLogger("notify", func(string) string { return "" }, &logs)
	started, release := make(chan struct{}), make(chan struct{})
	mux := http.NewServeMux()
	mux.Handle("/", echoHandler())
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		_, _ = io.WriteString(w, "finished")
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		}
	})
	mux.HandleFunc("/panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	h := instrument(logger, mux)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrc, shutdown := make(chan net.Addr, 1), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- serveLocal(ctx, logger, h, "", "0", localHooks{
			ready:        func(a net.Addr) { addrc <- a },
			shuttingDown: func() { close(shutdown) },
		})
	}()
	base := "http://" + (<-addrc).String()

	resp, err := http.Post(base+"/any/path?x=1&x=2", "text/plain", strings.NewReader("hi"))
	if err != nil {
		t.Fatal(err)
	}
	var e echo
	_ = json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || e.Path != "/any/path" || e.RawQuery != "x=1&x=2" || e.Body != "hi" {
		t.Errorf("echo: got %d %+v", resp.StatusCode, e)
	}
	if ip := net.ParseIP(e.SourceIP); ip == nil || !ip.IsLoopback() || !strings.HasPrefix(e.RequestID, "local-") {
		t.Errorf("request info: got sourceIP %q requestID %q, want a loopback IP and a local- id", e.SourceIP, e.RequestID)
	}

	resp, err = http.Post(base+"/big", "application/octet-stream", bytes.NewReader(make([]byte, localMaxBody+1)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("body over the limit: got %d, want 413 from the handler's read error", resp.StatusCode)
	}

	resp, err = http.Get(base + "/panic")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || !strings.Contains(string(body), `"error":"internal_error"`) {
		t.Errorf("panic: got %d %s, want a JSON 500", resp.StatusCode, body)
	}

	// Graceful shutdown: a request in flight when the signal arrives still
	// gets its answer.
	slow := make(chan string, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			slow <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		slow <- string(b)
	}()
	<-started
	cancel()
	<-shutdown
	close(release)
	if got := <-slow; got != "finished" {
		t.Errorf("in-flight request during shutdown: got %q, want finished", got)
	}
	if err := <-done; err != nil {
		t.Errorf("serveLocal after shutdown: %v", err)
	}
	if !strings.Contains(logs.String(), `method=POST path=/any/path status=202`) {
		t.Errorf("access log line missing: %s", logs.String())
	}
	if strings.Contains(logs.String(), "x=1") {
		t.Errorf("query string logged: %s", logs.String())
	}
}

func TestServeLocalBadPort(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	logger := slog.New(slog.DiscardHandler)
	for _, p := range []string{"http", "70000", port} {
		if err := serveLocal(context.Background(), logger, http.NotFoundHandler(), "", p, localHooks{}); err == nil {
			t.Errorf("PORT=%s: got no error", p)
		}
	}
}

// startLocal runs serveLocal on port 0 and returns its address and a stop
// function that waits for it to return.
func startLocal(t *testing.T, host string, h http.Handler, hooks localHooks) (net.Addr, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	hooks.ready = func(a net.Addr) { addrc <- a }
	go func() { done <- serveLocal(ctx, slog.New(slog.DiscardHandler), h, host, "0", hooks) }()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case err := <-done:
		cancel()
		t.Fatalf("serveLocal: %v", err)
	}
	return addr, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serveLocal: %v", err)
		}
	}
}

// A function run alone listens on loopback unless DINGFN_HOST opts in to
// other interfaces.
func TestServeLocalHost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, host string
		loopback   bool
	}{
		{"default is loopback", "", true},
		{"explicit loopback", "127.0.0.1", true},
		{"every interface on request", "0.0.0.0", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr, stop := startLocal(t, tt.host, http.NotFoundHandler(), localHooks{})
			defer stop()
			ip := addr.(*net.TCPAddr).IP
			if ip.IsLoopback() != tt.loopback || (!tt.loopback && !ip.IsUnspecified()) {
				t.Errorf("DINGFN_HOST=%q: listening on %s, want loopback %v", tt.host, addr, tt.loopback)
			}
		})
	}
}

// Connections beyond the cap wait until one is closed.
func TestServeLocalConnectionCap(t *testing.T) {
	t.Parallel()
	served := make(chan string, 4)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served <- r.URL.Path
		_, _ = io.WriteString(w, "ok")
	})
	addr, stop := startLocal(t, "", h, localHooks{maxConns: 1})
	defer stop()

	request := func(c net.Conn, path string) {
		t.Helper()
		if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	first, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	request(first, "/first")
	if got := <-served; got != "/first" {
		t.Fatalf("served %s, want /first", got)
	}
	// The first connection stays open (keep-alive), holding the only slot.
	second, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	request(second, "/second")
	select {
	case got := <-served:
		t.Fatalf("%s served while the cap was taken", got)
	case <-time.After(200 * time.Millisecond): // a negative check needs some wait; it can only pass wrongly, never fail wrongly
	}
	first.Close()
	if got := <-served; got != "/second" {
		t.Errorf("served %s, want /second once the first connection closed", got)
	}
}

// A function deployed before its logic answers 501 behind its keys: an
// anonymous caller gets 401 and an info line, an authenticated one the 501
// and a warn line that names the caller; nothing logs at error level.
func TestNotImplementedBehindKeysLogLevels(t *testing.T) {
	t.Parallel()
	const key = "platform-test-key-0123456789"
	keys, err := httpapi.ParseKeys("crm=" + key)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	logger := newLogger("notify", func(k string) string {
		return map[string]string{"DINGFN_LOG_FORMAT": "json"}[k]
	}, &logs)
	h := instrument(logger, keys.Require(NotImplemented("notify")))
	tests := []struct {
		name       string
		auth       string
		wantStatus int
		wantLevel  string
	}{
		{"anonymous", "", http.StatusUnauthorized, "INFO"},
		{"wrong key", "Bearer " + strings.Repeat("k", 28), http.StatusUnauthorized, "INFO"},
		{"valid key", "Bearer " + key, http.StatusNotImplemented, "WARN"},
	}
	for _, tt := range tests {
		logs.Reset()
		r := httptest.NewRequest(http.MethodPost, "/send", strings.NewReader(`{}`))
		r = r.WithContext(withRequestInfo(r.Context(), "req-"+tt.name, "127.0.0.1"))
		if tt.auth != "" {
			r.Header.Set("Authorization", tt.auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.wantStatus {
			t.Errorf("%s: status %d, want %d", tt.name, w.Code, tt.wantStatus)
		}
		var line map[string]any
		if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
			t.Fatalf("%s: one JSON log line expected: %v: %s", tt.name, err, logs.String())
		}
		if line["level"] != tt.wantLevel || line["msg"] != "request" {
			t.Errorf("%s: logged %v, want a %s request line", tt.name, line, tt.wantLevel)
		}
		if wantCaller := map[bool]any{true: "crm", false: nil}[tt.wantStatus == http.StatusNotImplemented]; line["caller"] != wantCaller {
			t.Errorf("%s: caller %v, want %v", tt.name, line["caller"], wantCaller)
		}
		if strings.Contains(logs.String(), key) {
			t.Errorf("%s: the key is in the log: %s", tt.name, logs.String())
		}
	}
	// A line logged inside the authenticated request names the caller.
	logs.Reset()
	inner := keys.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logger.InfoContext(r.Context(), "sending")
	}))
	r := httptest.NewRequest(http.MethodPost, "/send", nil)
	r.Header.Set("Authorization", "Bearer "+key)
	inner.ServeHTTP(httptest.NewRecorder(), r)
	if !strings.Contains(logs.String(), `"caller":"crm"`) {
		t.Errorf("caller missing from a line logged in the request: %s", logs.String())
	}
}
