package notify

import (
	"slices"
	"testing"
	"time"
)

// Ids sort by creation time as strings (RecentNotices and operators rely on
// it), whatever the random part; and validID accepts every id newID makes.
func TestIDsSortByCreation(t *testing.T) {
	t.Parallel()
	at := time.UnixMilli(1_700_000_000_000)
	s := &Service{now: func() time.Time { return at }}
	var ids []string
	for i := range 2000 {
		// Steps of 1 ms to about 9 hours cross every character position.
		at = at.Add(time.Duration(1+i*i*8) * time.Millisecond)
		id := s.newID(workNotices.prefix)
		if !validID(id, workNotices.prefix) {
			t.Fatalf("validID(%q) = false for an id newID made", id)
		}
		ids = append(ids, id)
	}
	if !slices.IsSorted(ids) {
		for i := 1; i < len(ids); i++ {
			if ids[i] < ids[i-1] {
				t.Fatalf("id %d %q sorts before the earlier id %q", i, ids[i], ids[i-1])
			}
		}
	}
}
