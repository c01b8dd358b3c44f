package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
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
		done <- serveLocal(ctx, logger, h, "0", localHooks{
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
		if err := serveLocal(context.Background(), logger, http.NotFoundHandler(), p, localHooks{}); err == nil {
			t.Errorf("PORT=%s: got no error", p)
		}
	}
}
