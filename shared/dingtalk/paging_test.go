package dingtalk

import (
	"errors"
	"reflect"
	"testing"
)

// cursorPages serves pages keyed by cursor, recording the cursors asked for.
type cursorPages struct {
	pages map[int64][]int
	next  map[int64]int64
	asked []int64
}

func (c *cursorPages) fetch(cursor int64) ([]int, int64, bool, error) {
	c.asked = append(c.asked, cursor)
	n := c.next[cursor]
	return c.pages[cursor], n, n != 0 && n != cursor, nil
}

func collect[T any](t *testing.T, seq func(func(T, error) bool)) ([]T, []error) {
	t.Helper()
	var got []T
	var errs []error
	for v, err := range seq {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got = append(got, v)
	}
	return got, errs
}

func TestPagesFollowsCursorAndRestarts(t *testing.T) {
	t.Parallel()
	c := &cursorPages{
		pages: map[int64][]int{5: {1, 2}, 7: {3}, 9: {4}},
		next:  map[int64]int64{5: 7, 7: 9, 9: 9}, // 9 does not advance: stop
	}
	seq := pages(int64(5), c.fetch)
	for range 2 { // ranging again starts from the first cursor again
		c.asked = nil
		got, errs := collect(t, seq)
		if !reflect.DeepEqual(got, []int{1, 2, 3, 4}) || errs != nil {
			t.Fatalf("pages = %v, %v", got, errs)
		}
		if !reflect.DeepEqual(c.asked, []int64{5, 7, 9}) {
			t.Fatalf("cursors asked %v", c.asked)
		}
	}
}

func TestPagesErrorOnceAndBreak(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	calls := 0
	seq := pages(0, func(cursor int) ([]string, int, bool, error) {
		calls++
		if cursor == 1 {
			return nil, 0, true, boom // more is ignored after an error
		}
		return []string{"a", "b"}, cursor + 1, true, nil
	})
	got, errs := collect(t, seq)
	if !reflect.DeepEqual(got, []string{"a", "b"}) || len(errs) != 1 || !errors.Is(errs[0], boom) || calls != 2 {
		t.Fatalf("got %v, errs %v after %d calls", got, errs, calls)
	}
	calls = 0
	for v, err := range seq {
		if err != nil || v != "a" {
			t.Fatalf("first = %q, %v", v, err)
		}
		break
	}
	if calls != 1 {
		t.Errorf("a break after the first item made %d calls, want 1", calls)
	}
}

func TestOffsetPagesStopRules(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		pages   [][]int
		hasMore []bool
		want    []int
		offsets []int
	}{
		{"has_more false", [][]int{{1, 2}, {3}}, []bool{true, false}, []int{1, 2, 3}, []int{0, 2}},
		{"empty page with has_more", [][]int{{1}, {}}, []bool{true, true}, []int{1}, []int{0, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var offsets []int
			seq := offsetPages(func(offset int) ([]int, bool, error) {
				i := len(offsets)
				offsets = append(offsets, offset)
				return tc.pages[i], tc.hasMore[i], nil
			})
			got, errs := collect(t, seq)
			if !reflect.DeepEqual(got, tc.want) || errs != nil || !reflect.DeepEqual(offsets, tc.offsets) {
				t.Errorf("got %v %v, offsets %v; want %v, offsets %v", got, errs, offsets, tc.want, tc.offsets)
			}
		})
	}
}

func TestShortPagesStopsOnShortPage(t *testing.T) {
	t.Parallel()
	full := make([]int, MaxExtPageSize)
	var offsets []int
	seq := shortPages(func(offset int) ([]int, error) {
		offsets = append(offsets, offset)
		if offset == 0 {
			return full, nil
		}
		return []int{1}, nil
	})
	got, errs := collect(t, seq)
	if len(got) != MaxExtPageSize+1 || errs != nil || !reflect.DeepEqual(offsets, []int{0, MaxExtPageSize}) {
		t.Errorf("%d items, errs %v, offsets %v", len(got), errs, offsets)
	}
}

func TestWalkDepartmentsSkipsCycles(t *testing.T) {
	t.Parallel()
	tree := map[int64][]int64{1: {2, 3}, 2: {4, 1}, 3: {2}, 4: nil}
	got, errs := collect(t, walkDepartments(1, func(id int64) ([]int64, error) {
		return tree[id], nil
	}, func(id int64) int64 { return id }))
	if !reflect.DeepEqual(got, []int64{2, 3, 4}) || errs != nil {
		t.Errorf("walk = %v, %v", got, errs)
	}
}
