package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dingfn/dingfn/shared/approvals"
	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/store"
)

// Deps are what the event feature takes from the bundle.
type Deps struct {
	Store store.Store
	// Client is the app's DingTalk client: the approvals handler fetches
	// instances with it, the recovery step fetches failed pushes.
	Client *dingtalk.Client
	// Directory is the mirror's guarded write path (*directory.Writer);
	// nil leaves contact events logged (and forwarded) but not applied to
	// a mirror.
	Directory Directory
	Logger    *slog.Logger
	// Register adds your own handlers (package handlers); nil adds none.
	Register func(*Mux)
}

// Config is the feature's share of the configuration.
type Config struct {
	Retention     time.Duration // DINGFN_EVENT_RETENTION; 0 is DefaultRetention
	MaxAttempts   int           // DINGFN_EVENT_MAX_ATTEMPTS; 0 is DefaultMaxAttempts
	Forward       []ForwardRule // DINGFN_FORWARD_URLS
	ForwardSecret string        // DINGFN_FORWARD_SECRET
	// DrainAtOnce drains an event the callback left unfinished right away
	// instead of at the next tick (`dingfn dev`, where the process keeps
	// running after the reply).
	DrainAtOnce bool
}

// Build returns the event log with its handlers registered, in this
// order: the built-in contacts handler (when d.Directory is set), the
// approvals handler, the forwarding targets, then yours. The callback
// function and the sync function's drain both build it this way, so both
// run the same handlers.
func Build(d Deps, c Config, opts ...Option) (*Service, error) {
	if d.Store == nil || d.Client == nil {
		return nil, errors.New("events: Build needs a store and a DingTalk client")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	mux := NewMux()
	if d.Directory != nil {
		RegisterContacts(mux, d.Directory)
	}
	aw, err := approvals.NewWriter(d.Store, d.Client.Process, nil)
	if err != nil {
		return nil, err
	}
	RegisterApprovals(mux, aw)
	if err := RegisterForwards(mux, c.Forward, c.ForwardSecret); err != nil {
		return nil, err
	}
	if d.Register != nil {
		d.Register(mux)
	}
	base := []Option{WithLogger(d.Logger)}
	if c.Retention > 0 {
		base = append(base, WithRetention(c.Retention))
	}
	if c.MaxAttempts > 0 {
		base = append(base, WithMaxAttempts(c.MaxAttempts))
	}
	var s *Service
	if c.DrainAtOnce {
		base = append(base, WithOnPending(func() { s.kick() }))
	}
	s, err = New(d.Store, mux, append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	return s, nil
}

// kick drains what is due within the grace (DrainNow), in the
// background: at most one such drain at a time, and one more after it
// when kicked meanwhile, so a burst of unfinished events costs two drains,
// not one each.
func (s *Service) kick() {
	s.kickMu.Lock()
	if s.kicking {
		s.kickAgain = true
		s.kickMu.Unlock()
		return
	}
	s.kicking = true
	s.kickMu.Unlock()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := s.DrainNow(ctx); err != nil {
			s.logger.WarnContext(ctx, "immediate drain failed; the next tick retries", "err", err)
		}
		cancel()
		s.kickMu.Lock()
		if !s.kickAgain {
			s.kicking = false
			s.kickMu.Unlock()
			return
		}
		s.kickAgain = false
		s.kickMu.Unlock()
	}
}
