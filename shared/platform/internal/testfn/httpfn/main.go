// Command httpfn is the HTTP function the platform tests build and run
// under a fake FC runtime API, the Lambda Runtime Interface Emulator and
// local mode. It echoes what the adapter made of the request.
package main

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/dingfn/dingfn/shared/platform"
)

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("/binary", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write([]byte{0xff, 0x00, 0xfe, 'd', 'i', 'n', 'g'})
	})
	mux.HandleFunc("/panic", func(http.ResponseWriter, *http.Request) {
		panic("boom access_token=SECRET-TOKEN-VALUE")
	})
	mux.Handle("/notimpl", platform.NotImplemented("testfn logic"))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Echo", "yes")
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"method":     r.Method,
			"path":       r.URL.Path,
			"rawQuery":   r.URL.RawQuery,
			"query":      r.URL.Query(),
			"host":       r.Host,
			"signature":  r.Header.Get("X-Test-Signature"),
			"cookie":     r.Header.Get("Cookie"),
			"body":       string(body),
			"requestID":  platform.RequestID(r.Context()),
			"sourceIP":   platform.SourceIP(r.Context()),
			"remoteAddr": r.RemoteAddr,
		})
	})
	platform.ServeHTTP("httpfn", mux)
}
