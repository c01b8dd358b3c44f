package secretscan

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// A made-up secret with characters every escaping changes.
const planted = "plantedSecret+/=&é\"xyz0123"

// Every form the package promises to find is found, wherever in a longer
// text it sits; text without the secret gives no hit.
func TestCheckFindsEveryForm(t *testing.T) {
	t.Parallel()
	jsonForm, _ := json.Marshal(planted)
	tests := []struct {
		name, text, form string
	}{
		{"raw", "msg=oops " + planted + " end", "raw"},
		{"query escaped", "GET /x?access_token=" + url.QueryEscape(planted) + "&a=b", "url"},
		{"path escaped", "/v1/" + url.PathEscape(planted) + "/x", "url-path"},
		{"json escaped", `{"err":` + string(jsonForm) + `}`, "json"},
	}
	// base64 of the secret inside longer plaintexts, at each alignment,
	// in both alphabets.
	for lead := range 3 {
		plain := strings.Repeat("p", 7+lead) + planted + "tail"
		tests = append(tests,
			struct{ name, text, form string }{"base64 lead " + string(rune('0'+lead)), "x " + base64.StdEncoding.EncodeToString([]byte(plain)) + " y", "base64"},
			struct{ name, text, form string }{"base64url lead " + string(rune('0'+lead)), base64.RawURLEncoding.EncodeToString([]byte(plain)), "base64url"},
		)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			if err := s.Add("app secret", planted); err != nil {
				t.Fatal(err)
			}
			s.Check("log", []byte(tt.text))
			hits := s.Hits()
			if len(hits) == 0 {
				t.Fatalf("no hit in %q", tt.text)
			}
			found := false
			for _, h := range hits {
				// A base64url form equal to the standard one is
				// reported as base64.
				found = found || (strings.HasPrefix(tt.form, h.Form) && h.Secret == "app secret" && h.Where == "log")
				if strings.Contains(h.String(), planted) {
					t.Errorf("hit %q prints the secret", h)
				}
			}
			if !found {
				t.Errorf("hits %v, want one in form %s", hits, tt.form)
			}
		})
	}
	s := New()
	_ = s.Add("app secret", planted)
	s.Check("log", []byte("plantedSecret and xyz0123 apart, "+base64.StdEncoding.EncodeToString([]byte("plantedSecret"))))
	if h := s.Hits(); len(h) != 0 {
		t.Errorf("parts of the secret: got hits %v, want none", h)
	}
}

func TestAddRefusesShortValues(t *testing.T) {
	t.Parallel()
	s := New()
	if err := s.Add("short", "abc"); err == nil {
		t.Error("a 3-byte secret was accepted")
	}
	_ = s.Add("a", planted)
	_ = s.Add("b", planted)
	if s.Secrets() != 1 {
		t.Errorf("%d secrets after adding one value twice, want 1", s.Secrets())
	}
}

// A logger writing through Writer is scanned line by line.
func TestWriterScansLogs(t *testing.T) {
	t.Parallel()
	s := New()
	_ = s.Add("token", planted)
	var out bytes.Buffer
	log := slog.New(slog.NewJSONHandler(s.Writer("callback log", &out), nil))
	log.Info("fine")
	if len(s.Hits()) != 0 || s.Scanned() == 0 || s.Streams()["callback log"] != s.Scanned() {
		t.Fatalf("clean line: hits %v, %d bytes scanned", s.Hits(), s.Scanned())
	}
	log.Info("leak", "token", planted)
	if h := s.Hits(); len(h) != 1 || h[0].Where != "callback log" || h[0].Form != "json" {
		t.Errorf("hits %v, want the JSON-escaped token in the callback log", h)
	}
	if !strings.Contains(out.String(), "leak") {
		t.Error("the log line did not reach the next writer")
	}
}

// Handler checks request and response bodies, hands exempt responses to
// learn before the client reads them, and Transport checks both sides
// of a client's calls.
func TestHandlerAndTransport(t *testing.T) {
	t.Parallel()
	s := New()
	_ = s.Add("secret", planted)
	const issued = "issuedTokenValue42"
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/gettoken":
			io.WriteString(w, `{"access_token":"`+issued+`"}`)
		case "/echo":
			w.WriteHeader(http.StatusCreated)
			io.Copy(w, r.Body)
		}
	})
	learned := false
	srv := httptest.NewServer(s.Handler("fake", h, func(r *http.Request) bool { return r.URL.Path == "/gettoken" }, func(body []byte) {
		learned = strings.Contains(string(body), issued)
		_ = s.Add("issued token", issued)
	}))
	t.Cleanup(srv.Close)
	res, err := http.Get(srv.URL + "/gettoken")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if !learned || len(s.Hits()) != 0 {
		t.Fatalf("token answer: learned %v, hits %v; want learned and no hit (the server's side is exempt)", learned, s.Hits())
	}
	// The client's side is not exempt: it saw the token in a body.
	s2 := New()
	_ = s2.Add("issued token", issued)
	c2 := &http.Client{Transport: s2.Transport("client", nil)}
	res, err = c2.Get(srv.URL + "/gettoken")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if len(s2.Hits()) != 1 {
		t.Errorf("transport: hits %v, want the token in the response", s2.Hits())
	}

	c := &http.Client{Transport: s.Transport("client", nil)}
	res, err = c.Post(srv.URL+"/echo", "text/plain", strings.NewReader("x "+issued))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated || string(body) != "x "+issued {
		t.Errorf("echo: %d %q, want 201 and the body back", res.StatusCode, body)
	}
	where := map[string]bool{}
	for _, h := range s.Hits() {
		where[h.Where] = true
	}
	for _, w := range []string{"fake request /echo", "fake response /echo", "client request /echo", "client response /echo"} {
		if !where[w] {
			t.Errorf("no hit in %s; hits %v", w, s.Hits())
		}
	}
}
