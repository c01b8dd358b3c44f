package devserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/dingfn/dingfn/handlers"
	"github.com/dingfn/dingfn/shared/bundle"
	"github.com/dingfn/dingfn/shared/config"
	"github.com/dingfn/dingfn/shared/console"
	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/functions"
)

// DefaultConsoleAddr is where `dingfn console` listens: beside `dingfn
// dev`'s port, on this machine only.
const DefaultConsoleAddr = "127.0.0.1:9100"

// ConsoleServer is a running `dingfn console`.
type ConsoleServer struct {
	// URL is the console's address, e.g. http://127.0.0.1:9100.
	URL     string
	Bundle  *bundle.Bundle
	Console *console.Console
	http    *localServer
}

// StartConsole serves the console alone against the configured DingTalk
// app and store (`dingfn console`): the organisation from the mirror, the
// event log with its replay button, the sync's status and "sync now"
// (under the sync function's leases), token health, and the notices in
// the store, with the notice form when
// DINGTALK_AGENT_ID is set; no simulator, and none of the functions. It
// needs the configuration the sync function needs. Addr, Getenv, Out and
// Logger of o apply.
func StartConsole(ctx context.Context, o Options) (_ *ConsoleServer, err error) {
	o.defaults(DefaultConsoleAddr)
	cfg, err := config.Load(config.Sync, o.Getenv)
	if err != nil {
		return nil, err
	}
	s := &ConsoleServer{}
	if s.Bundle, err = bundle.Open(ctx, cfg, o.Logger); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.Bundle.Close()
		}
	}()
	var c *console.Console
	runner, err := functions.SyncRunner(s.Bundle, functions.SyncOptions{Progress: func(r directory.Report) { c.SyncProgress(r) }})
	if err != nil {
		return nil, fmt.Errorf("console: sync: %w", err)
	}
	src := console.Sources{Mirror: directory.NewReader(s.Bundle.Store), Sync: runner, Tokens: s.Bundle.Tokens}
	if cfg.AgentID > 0 {
		if src.Notify, err = functions.NotifyService(s.Bundle); err != nil {
			return nil, fmt.Errorf("console: notify: %w", err)
		}
	}
	if src.Events, err = functions.Events(s.Bundle, handlers.Register); err != nil {
		return nil, fmt.Errorf("console: events: %w", err)
	}
	if c, err = console.New(src, console.WithLogger(o.Logger)); err != nil {
		return nil, err
	}
	s.Console = c
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		s.Console.Close()
		return nil, fmt.Errorf("console: listen: %w", err)
	}
	s.URL = "http://" + ln.Addr().String()
	mux := http.NewServeMux()
	mux.Handle(console.PagePattern, s.Console)
	mux.Handle(console.Prefix, s.Console)
	s.http = newLocalServer(mux, s.Console.Close)
	s.http.serve(ln)
	send := "notice form off (set DINGTALK_AGENT_ID to send notices)"
	if src.Notify != nil {
		send = "the notice form sends real work notices as agent " + fmt.Sprint(cfg.AgentID)
	}
	fmt.Fprintf(o.Out, "\ndingfn console — %s/\n  DingTalk app %s at %s\n  store: %s %s\n  %s\n\n",
		s.URL, cfg.AppKey, cfg.OAPIURL, cfg.Store.Kind, cfg.Store.Path, send)
	return s, nil
}

// Close stops the server and releases the store.
func (s *ConsoleServer) Close() error {
	err := s.http.shutdown()
	s.Console.Close()
	return errors.Join(err, s.Bundle.Close())
}

// RunConsole runs StartConsole until ctx is done.
func RunConsole(ctx context.Context, o Options) error {
	s, err := StartConsole(ctx, o)
	if err != nil {
		return err
	}
	return runUntil(ctx, "console", s.http, s.Close)
}
