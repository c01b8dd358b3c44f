package events_test

import (
	"context"
	"slices"
	"testing"

	"github.com/dingfn/dingfn/shared/events"
)

func TestMuxEveryMatchingHandler(t *testing.T) {
	t.Parallel()
	m := events.NewMux()
	nop := func(context.Context, *events.Event) error { return nil }
	m.HandleFunc("*", nop)
	m.HandleFunc("user_*", nop)
	m.HandleFunc("user_add_org", nop)
	m.HandleFunc("bpms_*", nop)
	m.Route("builtin:x", events.HandlerFunc(nop), "org_dept_create", "user_leave_org")
	for typ, want := range map[string][]string{
		"user_add_org":     {"*", "user_*", "user_add_org"},
		"user_leave_org":   {"*", "user_*", "builtin:x"},
		"bpms_task_change": {"*", "bpms_*"},
		"org_dept_create":  {"*", "builtin:x"},
		"check_in":         {"*"},
		"user":             {"*"},
	} {
		if got := m.Handlers(typ); !slices.Equal(got, want) {
			t.Errorf("Handlers(%q) = %v, want %v", typ, got, want)
		}
	}
}

func TestMuxPanicsOnWiringMistakes(t *testing.T) {
	t.Parallel()
	nop := events.HandlerFunc(func(context.Context, *events.Event) error { return nil })
	for name, f := range map[string]func(m *events.Mux){
		"duplicate":        func(m *events.Mux) { m.Handle("a", nop); m.Handle("a", nop) },
		"duplicate name":   func(m *events.Mux) { m.Handle("a", nop); m.Route("a", nop, "b") },
		"star inside":      func(m *events.Mux) { m.Handle("user_*_org", nop) },
		"empty":            func(m *events.Mux) { m.Handle("", nop) },
		"space":            func(m *events.Mux) { m.Handle("user add", nop) },
		"nil handler":      func(m *events.Mux) { m.Handle("a", nil) },
		"nil func":         func(m *events.Mux) { m.HandleFunc("a", nil) },
		"route no pattern": func(m *events.Mux) { m.Route("r", nop) },
		"route bad name":   func(m *events.Mux) { m.Route("a b", nop, "x") },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f(events.NewMux())
		})
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		p, typ string
		want   bool
	}{
		{"*", "anything", true}, {"user_*", "user_add_org", true}, {"user_*", "user_", true},
		{"user_*", "org_user", false}, {"user_add_org", "user_add_org", true}, {"user_add_org", "user_add_org2", false},
	} {
		if got := events.Match(tt.p, tt.typ); got != tt.want {
			t.Errorf("Match(%q, %q) = %v", tt.p, tt.typ, got)
		}
	}
}
