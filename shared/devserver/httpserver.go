package devserver

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"
)

// localServer is the dev and console HTTP server. It remembers connections
// that have not sent a request yet: net/http's Shutdown waits up to five
// seconds for those (it cannot tell a browser's preconnect from a request
// about to arrive), so an interrupted `dingfn dev` would hang and then
// report a failed shutdown although nothing was in flight.
type localServer struct {
	*http.Server
	mu    sync.Mutex
	fresh map[net.Conn]struct{}
}

// newLocalServer serves h with the dev server's timeouts; onShutdown runs
// when the shutdown begins (it ends the console's streams, which never go
// idle).
func newLocalServer(h http.Handler, onShutdown func()) *localServer {
	s := &localServer{fresh: map[net.Conn]struct{}{}}
	s.Server = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		ConnState:         s.track,
	}
	s.RegisterOnShutdown(onShutdown)
	return s
}

func (s *localServer) track(c net.Conn, st http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st == http.StateNew {
		s.fresh[c] = struct{}{}
	} else {
		delete(s.fresh, c)
	}
}

// shutdown closes the connections that never sent a request, then shuts
// down gracefully: requests in flight finish (until ctx ends).
func (s *localServer) shutdown(ctx context.Context) error {
	s.SetKeepAlivesEnabled(false)
	s.mu.Lock()
	for c := range s.fresh {
		c.Close()
	}
	s.mu.Unlock()
	return s.Shutdown(ctx)
}
