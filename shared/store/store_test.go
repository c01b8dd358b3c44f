package store_test

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/store"
)

func TestRangeBounds(t *testing.T) {
	for _, c := range []struct {
		name   string
		r      store.Range
		lo, hi string
		empty  bool
	}{
		{"unbounded", store.Range{}, "", "", false},
		{"start end", store.Range{Start: "b", End: "d"}, "b", "d", false},
		{"prefix", store.Range{Prefix: "ab"}, "ab", "ac", false},
		{"prefix narrows start and end", store.Range{Start: "a", End: "z", Prefix: "m/"}, "m/", "m0", false},
		{"start inside prefix", store.Range{Start: "m/5", Prefix: "m/"}, "m/5", "m0", false},
		{"end inside prefix", store.Range{End: "m/5", Prefix: "m/"}, "m/", "m/5", false},
		{"cursor", store.Range{Start: "a", Cursor: "c"}, "c", "", false},
		{"cursor before start", store.Range{Start: "c", Cursor: "a"}, "c", "", false},
		{"cursor at end", store.Range{End: "c", Cursor: "c"}, "c", "c", true},
		{"inverted", store.Range{Start: "d", End: "b"}, "d", "b", true},
		{"prefix of 0xff bytes", store.Range{Prefix: "\xff\xff"}, "\xff\xff", "", false},
		{"prefix ending in 0xff", store.Range{Prefix: "a\xff"}, "a\xff", "b", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			lo, hi, empty := c.r.Bounds()
			if lo != c.lo || hi != c.hi || empty != c.empty {
				t.Fatalf("Bounds() = %q, %q, %v; want %q, %q, %v", lo, hi, empty, c.lo, c.hi, c.empty)
			}
		})
	}
}

func TestPageLimit(t *testing.T) {
	for _, c := range []struct{ in, want int }{{0, store.DefaultLimit}, {1, 1}, {store.MaxLimit, store.MaxLimit}, {store.MaxLimit + 1, store.MaxLimit}} {
		if got, err := (store.Range{Limit: c.in}).PageLimit(); err != nil || got != c.want {
			t.Errorf("PageLimit(%d) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	if _, err := (store.Range{Limit: -1}).PageLimit(); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("PageLimit(-1) = %v, want ErrInvalid", err)
	}
}

func TestCond(t *testing.T) {
	for _, c := range []struct {
		cond    store.Cond
		live    bool
		version int64
		want    bool
	}{
		{store.Always, false, 0, true},
		{store.Always, true, 3, true},
		{store.IfAbsent, false, 3, true},
		{store.IfAbsent, true, 3, false},
		{store.IfVersion(3), true, 3, true},
		{store.IfVersion(3), true, 4, false},
		{store.IfVersion(3), false, 3, false},
	} {
		if got := c.cond.Allows(c.live, c.version); got != c.want {
			t.Errorf("%v.Allows(live %v, version %d) = %v, want %v", c.cond, c.live, c.version, got, c.want)
		}
	}
	if s := fmt.Sprint(store.Always, store.IfAbsent, store.IfVersion(7)); s != "always if-absent if-version=7" {
		t.Errorf("Cond strings = %q", s)
	}
}

func TestExpiryEncoding(t *testing.T) {
	if !store.ExpiryTime(store.ExpiryMillis(time.Time{})).IsZero() {
		t.Error("never does not round-trip")
	}
	at := time.Date(2026, 5, 6, 7, 8, 9, 987654321, time.UTC)
	if got := store.ExpiryTime(store.ExpiryMillis(at)); !got.Equal(at.Truncate(time.Millisecond)) {
		t.Errorf("round trip of %v = %v", at, got)
	}
	ms := store.ExpiryMillis(at)
	if !store.Live(ms, at.Add(-time.Millisecond)) || store.Live(ms, at.Truncate(time.Millisecond)) {
		t.Error("an item must be live before its expiry millisecond and absent from it on")
	}
}

func TestBatchErrorUnwrap(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", &store.BatchError{Failed: []store.RowError{
		{Index: 2, Key: "k", Err: fmt.Errorf("bad: %w", store.ErrInvalid)},
	}})
	var be *store.BatchError
	if !errors.As(err, &be) || !errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrConflict) {
		t.Fatalf("errors.As/Is through a BatchError failed: %v", err)
	}
}

func TestCheckWrite(t *testing.T) {
	big := make([]byte, store.MaxValueLen+1)
	if err := store.CheckWrite(store.Write{Item: store.Item{Key: "k", Value: big}, Delete: true}); err != nil {
		t.Fatalf("a delete ignores the value: %v", err)
	}
	if err := store.CheckWrite(store.Write{Item: store.Item{Key: "k", Value: big}}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("put of an over-long value: %v, want ErrInvalid", err)
	}
	if err := store.CheckWrite(store.Write{Delete: true}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("delete of an empty key: %v, want ErrInvalid", err)
	}
}

func TestPageFill(t *testing.T) {
	now := time.UnixMilli(1_000_000)
	live, dead := store.ExpiryMillis(time.Time{}), now.UnixMilli()
	item := func(k string) func() store.Item { return func() store.Item { return store.Item{Key: k} } }
	type row struct {
		key     string
		expires int64
		size    int
	}
	tests := []struct {
		name  string
		limit int
		hi    string
		rows  []row
		keys  []string
		next  string
	}{
		{"expired rows are skipped and do not count", 2, "", []row{{"a", dead, 1}, {"b", live, 1}, {"c", live, 1}, {"d", live, 1}}, []string{"b", "c"}, "d"},
		{"the range end stops without a cursor", 5, "c", []row{{"a", live, 1}, {"b", live, 1}, {"c", live, 1}}, []string{"a", "b"}, ""},
		{"the byte budget ends a page", 5, "", []row{{"a", live, store.MaxPageBytes - 1}, {"b", live, 2}}, []string{"a"}, "b"},
		{"one item however large", 5, "", []row{{"a", live, store.MaxPageBytes + 1}}, []string{"a"}, ""},
		{"an expired large row does not end a page", 5, "", []row{{"a", live, 1}, {"b", dead, store.MaxPageBytes}, {"c", live, 1}}, []string{"a", "c"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := store.NewPageFill(tt.limit, tt.hi, now)
			for _, r := range tt.rows {
				if !f.Add(r.key, r.expires, r.size, item(r.key)) {
					break
				}
			}
			var keys []string
			for _, it := range f.Page.Items {
				keys = append(keys, it.Key)
			}
			if !slices.Equal(keys, tt.keys) || f.Page.Next != tt.next {
				t.Fatalf("page = %v next %q, want %v next %q", keys, f.Page.Next, tt.keys, tt.next)
			}
		})
	}
}

// FuzzCheckNames: the hand-written name checks accept exactly what the
// documented patterns accept.
func FuzzCheckNames(f *testing.F) {
	tableRE := regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	prefixRE := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	for _, s := range []string{"", "events", "dingfn_", "Dingfn_", "_x", "9a", "a9", "a-b", "a\n", "events\n", "é",
		strings.Repeat("a", 64), strings.Repeat("a", 65), "A", "a_B", "tbl\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := store.CheckTable(s) == nil, tableRE.MatchString(s); got != want {
			t.Errorf("CheckTable(%q) accepts = %v, want %v", s, got, want)
		}
		if got, want := store.CheckPrefix(s) == nil, s == "" || prefixRE.MatchString(s); got != want {
			t.Errorf("CheckPrefix(%q) accepts = %v, want %v", s, got, want)
		}
	})
}
