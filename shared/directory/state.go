package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/lease"
	"github.com/dingfn/dingfn/shared/store/record"
)

// statusKey is the StateTable row holding Status.
const statusKey = "status"

// Status is the sync's row in StateTable (key "status"): the mirror's last
// complete walk, and the checkpoint of the walk in progress.
type Status struct {
	// LastComplete is the last walk that reached every department.
	LastComplete *WalkSummary `json:"last_complete,omitempty"`
	// Walk is the checkpoint of an unfinished walk; nil between walks.
	Walk *Checkpoint `json:"walk,omitempty"`
	// Fence is the lease fencing token of the run that wrote the row; a
	// run holding an older lease must not write it (lease.CheckFence).
	Fence int64 `json:"fence"`
}

// WalkSummary describes a complete walk.
type WalkSummary struct {
	StartedAt   time.Time `json:"started_at"`
	CompletedAt time.Time `json:"completed_at"`
	// Ticks is how many ticks the walk took.
	Ticks int `json:"ticks"`
	// Users and Departments are the mirror's current records after it.
	Users       int    `json:"users"`
	Departments int    `json:"departments"`
	Totals      Totals `json:"totals"`
	Guard       Guard  `json:"guard"`
}

// Checkpoint is where an unfinished walk stands.
type Checkpoint struct {
	// ID names the walk: its start, in Unix milliseconds.
	ID        string    `json:"id"`
	StartedAt time.Time `json:"started_at"`
	// Queue holds, in breadth-first order, the departments whose members
	// are still to list; Queue[0] may be half done.
	Queue []int64 `json:"queue"`
	// Cursor and Members are the next user page of Queue[0] and the members
	// listed before it (empty when Queue[0] starts over).
	Cursor  int64    `json:"cursor,omitempty"`
	Members []string `json:"members,omitempty"`
	// Ticks counts the ticks that worked on the walk.
	Ticks  int    `json:"ticks"`
	Totals Totals `json:"totals"`
}

// Totals counts what a walk did over all its ticks.
type Totals struct {
	Users       Counts `json:"users"`
	Departments Counts `json:"departments"`
}

// Counts counts records of one kind. Seen counts each record once per
// walk; Created, Updated and Deleted count writes.
type Counts struct {
	Seen      int `json:"seen"`
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Deleted   int `json:"deleted"`
	Unchanged int `json:"unchanged"`
}

// seenPrefix starts the keys of a walk's seen-set chunks.
func seenPrefix(walkID string) string { return "walk/" + walkID + "/seen/" }

// seenChunk is one stored piece of a walk's seen-set: the ids a run saw
// since its previous checkpoint.
type seenChunk struct {
	Users       []string `json:"users,omitempty"`
	Departments []int64  `json:"departments,omitempty"`
}

// maxChunkIDs keeps a seen chunk well under the store's 1 MB value limit
// (userids are at most 64 bytes).
const maxChunkIDs = 10000

// maxCheckpointMembers bounds the half-listed department's members kept in
// the status row; a bigger department starts over on resume.
const maxCheckpointMembers = 10000

// readStatus returns the status row (the zero Status when there is none)
// and its version.
func readStatus(ctx context.Context, st store.Store) (Status, error) {
	rec, err := record.Get[Status](ctx, st, StateTable, statusKey)
	if errors.Is(err, store.ErrNotFound) {
		return Status{}, nil
	}
	if err != nil {
		return Status{}, fmt.Errorf("directory: read sync status: %w", err)
	}
	return rec.Value, nil
}

// saveStatus changes the status row under the run's fence: a run whose
// lease a later run took fails with an error matching lease.ErrLost
// instead of overwriting the later run's checkpoint.
func saveStatus(ctx context.Context, st store.Store, fence int64, change func(*Status)) error {
	_, err := record.Update(ctx, st, StateTable, statusKey, func(cur Status, found bool) (Status, error) {
		if fence != 0 && cur.Fence > fence {
			return cur, fmt.Errorf("%w: directory status was written under a later lease (fence %d > %d)", lease.ErrLost, cur.Fence, fence)
		}
		change(&cur)
		if fence != 0 {
			cur.Fence = fence
		}
		return cur, nil
	}, record.WithReplaceMalformed())
	if err != nil {
		return fmt.Errorf("directory: save sync status: %w", err)
	}
	return nil
}

// loadSeen reads every seen chunk of a walk.
func loadSeen(ctx context.Context, st store.Store, walkID string, users map[string]struct{}, depts map[int64]struct{}) error {
	for it, err := range store.All(ctx, st, StateTable, store.Range{Prefix: seenPrefix(walkID)}) {
		if err != nil {
			return fmt.Errorf("directory: read the walk's seen-set: %w", err)
		}
		var c seenChunk
		if err := json.Unmarshal(it.Value, &c); err != nil {
			return fmt.Errorf("directory: seen-set chunk %s: %w", it.Key, err)
		}
		for _, u := range c.Users {
			users[u] = struct{}{}
		}
		for _, d := range c.Departments {
			depts[d] = struct{}{}
		}
	}
	return nil
}

// dropSeen deletes a finished walk's seen chunks and returns how many.
func dropSeen(ctx context.Context, st store.Store, walkID string) (int, error) {
	var keys []string
	for it, err := range store.All(ctx, st, StateTable, store.Range{Prefix: seenPrefix(walkID)}) {
		if err != nil {
			return 0, fmt.Errorf("directory: list the walk's seen-set: %w", err)
		}
		keys = append(keys, it.Key)
	}
	if len(keys) == 0 {
		return 0, nil
	}
	ws := make([]store.Write, len(keys))
	for i, k := range keys {
		ws[i] = store.Write{Item: store.Item{Key: k}, Delete: true}
	}
	if err := st.Batch(ctx, StateTable, ws); err != nil {
		return 0, fmt.Errorf("directory: drop the walk's seen-set: %w", err)
	}
	return len(keys), nil
}

// chunkKey names one seen chunk: unique per run (fence and start) and
// sequence, so a run that lost its lease can never overwrite the chunks of
// the run that took over.
func chunkKey(walkID string, fence int64, runStart time.Time, seq int) string {
	return fmt.Sprintf("%s%020d-%d/%06d", seenPrefix(walkID), fence, runStart.UnixMilli(), seq)
}

// walkIDOf names a walk started at t.
func walkIDOf(t time.Time) string { return fmt.Sprintf("%015d", t.UnixMilli()) }
