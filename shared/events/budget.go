package events

import (
	"context"
	"sync"
	"time"
)

// budgetCtx is context.WithDeadline(parent, deadline) whose timer starts
// only when something needs it: Done, Value (through which the context
// package finds a parent to cancel children with, and context.Cause a
// cause), or Err once the deadline or the parent has ended it. A store
// call that only checks Err (the memory store) then costs no timer,
// which on the reply path of an event no handler wants cost as much as
// the log write itself. Every backend that waits on Done, or hands the
// context to anything that may, gets the real context.
type budgetCtx struct {
	parent   context.Context
	deadline time.Time

	mu     sync.Mutex
	ctx    context.Context // the real one, once started
	cancel context.CancelFunc
}

var _ context.Context = (*budgetCtx)(nil)

func withBudget(parent context.Context, deadline time.Time) *budgetCtx {
	return &budgetCtx{parent: parent, deadline: deadline}
}

// real returns the real context, starting it if it is not yet.
func (c *budgetCtx) real() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx == nil {
		c.ctx, c.cancel = context.WithDeadline(c.parent, c.deadline)
	}
	return c.ctx
}

// started returns the real context, or nil when it has not started.
func (c *budgetCtx) started() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ctx
}

// Deadline implements context.Context.
func (c *budgetCtx) Deadline() (time.Time, bool) {
	if d, ok := c.parent.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

// Done implements context.Context.
func (c *budgetCtx) Done() <-chan struct{} { return c.real().Done() }

// Err implements context.Context. Before the real context starts it
// reads the clock: once the deadline has passed (or the parent ended),
// the real context starts already ended, so that Done is closed whenever
// Err is not nil.
func (c *budgetCtx) Err() error {
	if ctx := c.started(); ctx != nil {
		return ctx.Err()
	}
	if c.parent.Err() != nil || !time.Now().Before(c.deadline) {
		return c.real().Err()
	}
	return nil
}

// Value implements context.Context.
func (c *budgetCtx) Value(key any) any { return c.real().Value(key) }

// stop releases the real context's timer, if it started.
func (c *budgetCtx) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancel != nil {
		c.cancel()
	}
}
