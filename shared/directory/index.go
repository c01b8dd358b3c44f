package directory

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/dingfn/dingfn/shared/store"
)

// digest is a record's content hash in memory: 16 bytes instead of the 32
// hex characters stored.
type digest [16]byte

func parseDigest(s string) digest {
	var d digest
	_, _ = hex.Decode(d[:], []byte(s)) // a malformed hash compares unequal, so the row is rewritten
	return d
}

// row is what the index keeps of one stored row.
type row struct {
	hash digest
	// version is the stored version for a conditional write; 0 when it is
	// unknown (the row was written by a batch, which reports no versions)
	// and must be read first.
	version int64
	// changed is the row's ChangedAt in Unix milliseconds.
	changed int64
}

// userRow is what the index keeps of one stored user.
type userRow struct {
	row
	unionID string
	left    bool
}

// unionRow is what the index keeps of one unionid row.
type unionRow struct {
	userID  string
	version int64
}

// index is the mirror as ids, hashes and versions: enough to tell whether
// a record from DingTalk is new, changed or unchanged without reading its
// row, and which rows a complete walk did not see. It holds no personal
// data beyond ids, so a walk of 100 000 users keeps it in a few MB.
type index struct {
	users   map[string]userRow
	depts   map[int64]row
	members map[int64]row
	unions  map[string]unionRow
}

// loadIndex scans the mirror's tables.
func loadIndex(ctx context.Context, st store.Store) (*index, error) {
	x := &index{
		users:   map[string]userRow{},
		depts:   map[int64]row{},
		members: map[int64]row{},
		unions:  map[string]unionRow{},
	}
	type head struct {
		UnionID   string    `json:"unionid"`
		Hash      string    `json:"hash"`
		ChangedAt time.Time `json:"changed_at"`
		LeftAt    time.Time `json:"left_at"`
		UserID    string    `json:"userid"`
	}
	scan := func(table string, add func(key string, h head, version int64) error) error {
		for it, err := range store.All(ctx, st, table, store.Range{}) {
			if err != nil {
				return fmt.Errorf("directory: scan %s: %w", table, err)
			}
			var h head
			if err := json.Unmarshal(it.Value, &h); err != nil {
				// A row another program broke is treated as changed and
				// rewritten, never as a reason to stop syncing.
				h = head{}
			}
			if err := add(it.Key, h, it.Version); err != nil {
				return err
			}
		}
		return nil
	}
	rowOf := func(h head, version int64) row {
		return row{hash: parseDigest(h.Hash), version: version, changed: h.ChangedAt.UnixMilli()}
	}
	err := scan(UsersTable, func(key string, h head, v int64) error {
		x.users[key] = userRow{row: rowOf(h, v), unionID: h.UnionID, left: !h.LeftAt.IsZero()}
		return nil
	})
	if err != nil {
		return nil, err
	}
	deptScan := func(table string, into map[int64]row) error {
		return scan(table, func(key string, h head, v int64) error {
			id, err := strconv.ParseInt(key, 10, 64)
			if err != nil {
				return nil // not a row of ours; leave it alone
			}
			into[id] = rowOf(h, v)
			return nil
		})
	}
	if err := deptScan(DepartmentsTable, x.depts); err != nil {
		return nil, err
	}
	if err := deptScan(MembersTable, x.members); err != nil {
		return nil, err
	}
	err = scan(UnionIDsTable, func(key string, h head, v int64) error {
		x.unions[key] = unionRow{userID: h.UserID, version: v}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return x, nil
}

// liveUsers counts the users that have not left.
func (x *index) liveUsers() int {
	n := 0
	for _, u := range x.users {
		if !u.left {
			n++
		}
	}
	return n
}
