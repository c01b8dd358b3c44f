package devserver

import (
	"context"
	"fmt"
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
	// failed receives Serve's error.
	failed chan error
}

// newLocalServer serves h with the dev server's timeouts; onShutdown runs
// when the shutdown begins (it ends the console's streams, which never go
// idle).
func newLocalServer(h http.Handler, onShutdown func()) *localServer {
	s := &localServer{fresh: map[net.Conn]struct{}{}, failed: make(chan error, 1)}
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

// serve serves on ln in the background.
func (s *localServer) serve(ln net.Listener) { go func() { s.failed <- s.Serve(ln) }() }

// shutdown closes the connections that never sent a request, then shuts
// down gracefully: requests in flight finish, for five seconds at most.
func (s *localServer) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.SetKeepAlivesEnabled(false)
	s.mu.Lock()
	for c := range s.fresh {
		c.Close()
	}
	s.mu.Unlock()
	return s.Shutdown(ctx)
}

// runUntil keeps a server (`dingfn dev` or `dingfn console`) running until
// ctx is done or it fails to serve, and then closes it.
func runUntil(ctx context.Context, name string, srv *localServer, close func() error) error {
	select {
	case <-ctx.Done():
	case err := <-srv.failed:
		close()
		return fmt.Errorf("%s: %w", name, err)
	}
	return close()
}
