package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/record"
)

// API is the part of the DingTalk client the directory uses:
// *dingtalk.Client's Call, which applies the client's per-API rate
// limiter, token handling and retries and returns DingTalk's raw reply,
// so the mirror keeps the fields the typed client does not know.
type API interface {
	Call(ctx context.Context, name string, params any, out any) error
}

var _ API = (*dingtalk.Client)(nil)

// The contact endpoints the directory calls, by path (the client's API
// names, which are also its rate-limiter keys).
const (
	apiDeptGet     = "topapi/v2/department/get"
	apiDeptSubIDs  = "topapi/v2/department/listsubid"
	apiUserList    = "topapi/v2/user/list"
	apiUserGet     = "topapi/v2/user/get"
	userPageSize   = dingtalk.MaxUserPageSize
	defaultRetain  = 90 * 24 * time.Hour
	defaultLogName = "directory"
)

// Writer is the mirror's one guarded write path. Every change goes
// through it: the sync's diff (Syncer) and single records re-fetched
// after a contact event (SyncUser, SyncDepartment). Upserts are
// conditional on the version read, so a writer that read before another
// one wrote never overwrites the newer row; deletions happen only on a
// complete walk within the deletion guard (Syncer), or when DingTalk
// answers that the one record asked about does not exist.
type Writer struct {
	st        store.Store
	api       API
	now       func() time.Time
	retention time.Duration
	log       *slog.Logger
}

// Option configures a Writer.
type Option func(*Writer) error

// WithClock sets the clock for changed_at, left_at and tombstone expiry.
func WithClock(now func() time.Time) Option {
	return func(w *Writer) error {
		if now == nil {
			return errors.New("directory: WithClock: nil clock")
		}
		w.now = now
		return nil
	}
}

// WithLogger sets the logger (default: discard). Log lines carry ids and
// counts only, never names, mobiles or e-mails.
func WithLogger(l *slog.Logger) Option {
	return func(w *Writer) error {
		if l == nil {
			return errors.New("directory: WithLogger: nil logger")
		}
		w.log = l
		return nil
	}
}

// WithRetention sets how long a departed user's tombstone answers "who was
// this userid" before it expires (default 90 days).
func WithRetention(d time.Duration) Option {
	return func(w *Writer) error {
		if d <= 0 {
			return fmt.Errorf("directory: WithRetention: %v is not positive", d)
		}
		w.retention = d
		return nil
	}
}

// NewWriter returns the guarded write path of the mirror in st, fetching
// from DingTalk through api.
func NewWriter(st store.Store, api API, opts ...Option) (*Writer, error) {
	if st == nil || api == nil {
		return nil, errors.New("directory: NewWriter needs a store and a DingTalk client")
	}
	w := &Writer{st: st, api: api, now: time.Now, retention: defaultRetain, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if err := o(w); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// Change says what a write did to a record.
type Change string

// The changes SyncUser and SyncDepartment report.
const (
	Created   Change = "created"
	Updated   Change = "updated"
	Unchanged Change = "unchanged"
	Deleted   Change = "deleted" // removed, or tombstoned for a user
	Absent    Change = "absent"  // gone from DingTalk and not in the mirror either
)

// userExpiry is when a stored user row expires: a tombstone after the
// retention, a current member never.
func (w *Writer) userExpiry(u User) time.Time {
	if u.LeftAt.IsZero() {
		return time.Time{}
	}
	return u.LeftAt.Add(w.retention)
}

// fetch calls a contact read and returns its "result".
func (w *Writer) fetch(ctx context.Context, api string, params any) (json.RawMessage, error) {
	var out struct {
		Result json.RawMessage `json:"result"`
	}
	if err := w.api.Call(ctx, api, params, &out); err != nil {
		return nil, err
	}
	return out.Result, nil
}

// SyncUser re-fetches one user from DingTalk and writes it through the
// guarded path: the user row, its unionid row and the members rows of the
// departments it joined or left. A user DingTalk says does not exist
// (60121) is tombstoned. Contact events call it with the ids they carry;
// re-fetching makes the result right whatever the order of events,
// duplicates or a sync running at the same time.
func (w *Writer) SyncUser(ctx context.Context, userid string) (Change, error) {
	if userid == "" {
		return "", errors.New("directory: SyncUser: empty userid")
	}
	raw, err := w.fetch(ctx, apiUserGet, map[string]string{"userid": userid})
	if dingtalk.IsNotFound(err) {
		return w.removeUser(ctx, userid)
	}
	if err != nil {
		return "", fmt.Errorf("directory: sync user %s: %w", userid, err)
	}
	src, err := parseUser(raw)
	if err != nil {
		return "", err
	}
	if src.view.UserID != userid {
		return "", fmt.Errorf("directory: sync user %s: DingTalk answered for %s", userid, src.view.UserID)
	}
	next := src.record(src.getFacts())
	var old User
	var change Change
	_, err = record.Update(ctx, w.st, UsersTable, userid, func(cur User, found bool) (User, error) {
		old = cur
		switch {
		case found && cur.LeftAt.IsZero() && cur.Hash == next.Hash:
			change = Unchanged
			return cur, record.ErrNoChange
		case found && cur.LeftAt.IsZero():
			change = Updated
		default: // new, or back after leaving
			change = Created
			old = User{UnionID: cur.UnionID} // a tombstone is in no department
		}
		n := next
		n.ChangedAt = w.now().UTC()
		return n, nil
	}, record.WithExpiry(w.userExpiry), record.WithReplaceMalformed())
	if err != nil {
		return "", fmt.Errorf("directory: sync user %s: %w", userid, err)
	}
	if err := w.moveMember(ctx, userid, old.DeptIDs, next.DeptIDs); err != nil {
		return "", err
	}
	if err := w.pointUnionID(ctx, userid, old.UnionID, next.UnionID); err != nil {
		return "", err
	}
	w.log.LogAttrs(ctx, slog.LevelDebug, "directory user synced", slog.String("userid", userid), slog.String("change", string(change)))
	return change, nil
}

// removeUser tombstones a user DingTalk says does not exist and takes it
// out of the unionid index and its departments' members rows.
func (w *Writer) removeUser(ctx context.Context, userid string) (Change, error) {
	old, changed, err := w.tombstone(ctx, userid, time.Time{})
	if err != nil {
		return "", err
	}
	if !changed {
		return Absent, nil
	}
	if err := w.moveMember(ctx, userid, old.DeptIDs, nil); err != nil {
		return "", err
	}
	if err := w.pointUnionID(ctx, userid, old.UnionID, ""); err != nil {
		return "", err
	}
	w.log.LogAttrs(ctx, slog.LevelInfo, "directory user left", slog.String("userid", userid))
	return Deleted, nil
}

// tombstone marks a current user as left, unless its row changed after
// notAfter (when set): a row written after a walk started was seen by
// someone fresher than the walk. It returns the row as it was and whether
// it wrote.
func (w *Writer) tombstone(ctx context.Context, userid string, notAfter time.Time) (User, bool, error) {
	var old User
	changed := false
	_, err := record.Update(ctx, w.st, UsersTable, userid, func(cur User, found bool) (User, error) {
		old, changed = cur, false
		if !found || !cur.LeftAt.IsZero() || (!notAfter.IsZero() && cur.ChangedAt.After(notAfter)) {
			return cur, record.ErrNoChange
		}
		now := w.now().UTC()
		cur.LeftAt, cur.ChangedAt = now, now
		changed = true
		return cur, nil
	}, record.WithExpiry(w.userExpiry))
	if err != nil {
		return User{}, false, fmt.Errorf("directory: tombstone user %s: %w", userid, err)
	}
	return old, changed, nil
}

// moveMember takes userid out of the members rows of the departments in
// from but not in to, and makes sure it is in those of to (a row already
// right costs a read, no write), so a lost write heals on the next event.
func (w *Writer) moveMember(ctx context.Context, userid string, from, to []int64) error {
	for _, d := range from {
		if !slices.Contains(to, d) {
			if err := w.editMembers(ctx, d, userid, false); err != nil {
				return err
			}
		}
	}
	for _, d := range to {
		if err := w.editMembers(ctx, d, userid, true); err != nil {
			return err
		}
	}
	return nil
}

// editMembers adds userid to, or removes it from, one members row.
func (w *Writer) editMembers(ctx context.Context, dept int64, userid string, add bool) error {
	_, err := record.Update(ctx, w.st, MembersTable, DeptKey(dept), func(cur Members, found bool) (Members, error) {
		has := slices.Contains(cur.UserIDs, userid)
		if has == add {
			return cur, record.ErrNoChange
		}
		ids := slices.DeleteFunc(slices.Clone(cur.UserIDs), func(s string) bool { return s == userid })
		if add {
			ids = append(ids, userid)
		}
		next := newMembers(dept, ids)
		next.ChangedAt = w.now().UTC()
		return next, nil
	}, record.WithReplaceMalformed())
	if err != nil {
		return fmt.Errorf("directory: members of department %d: %w", dept, err)
	}
	return nil
}

// reconcileMembers rewrites the members row of dept from the user rows,
// the source of truth of membership: of the userids the row lists now and
// those in listed (a walk's listing of the department), it keeps the
// current members whose user row names dept. A walk calls it when another
// writer changed the row between the walk's read and its write.
func (w *Writer) reconcileMembers(ctx context.Context, dept int64, listed []string) error {
	_, err := record.Update(ctx, w.st, MembersTable, DeptKey(dept), func(cur Members, found bool) (Members, error) {
		if !found {
			return cur, record.ErrNoChange // the department went: nothing to mend
		}
		candidates := slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(cur.UserIDs), listed...))))
		var keep []string
		for _, id := range candidates {
			u, err := record.Get[User](ctx, w.st, UsersTable, id)
			switch {
			case errors.Is(err, store.ErrNotFound), errors.Is(err, record.ErrMalformed):
				continue
			case err != nil:
				return cur, err
			}
			if u.Value.LeftAt.IsZero() && slices.Contains(u.Value.DeptIDs, dept) {
				keep = append(keep, id)
			}
		}
		next := newMembers(dept, keep)
		if cur.Hash == next.Hash {
			return cur, record.ErrNoChange
		}
		next.ChangedAt = w.now().UTC()
		return next, nil
	}, record.WithReplaceMalformed())
	if err != nil {
		return fmt.Errorf("directory: members of department %d: %w", dept, err)
	}
	return nil
}

// pointUnionID makes the unionid index map to userid under to, and drops
// from when it still names userid.
func (w *Writer) pointUnionID(ctx context.Context, userid, from, to string) error {
	if from != "" && from != to {
		_, err := record.Update(ctx, w.st, UnionIDsTable, from, func(cur UnionID, found bool) (UnionID, error) {
			if !found || cur.UserID != userid {
				return cur, record.ErrNoChange
			}
			return cur, record.ErrDelete
		})
		if err != nil {
			return fmt.Errorf("directory: unionid index: %w", err)
		}
	}
	if to == "" {
		return nil
	}
	_, err := record.Update(ctx, w.st, UnionIDsTable, to, func(cur UnionID, found bool) (UnionID, error) {
		if found && cur.UserID == userid {
			return cur, record.ErrNoChange
		}
		return UnionID{UnionID: to, UserID: userid}, nil
	}, record.WithReplaceMalformed())
	if err != nil {
		return fmt.Errorf("directory: unionid index: %w", err)
	}
	return nil
}

// SyncDepartment re-fetches one department from DingTalk and writes it
// through the guarded path. A department DingTalk says does not exist
// (60003) is removed with its members row. Members change through
// SyncUser (DingTalk sends a user event for each member who moves).
func (w *Writer) SyncDepartment(ctx context.Context, id int64) (Change, error) {
	if id <= 0 {
		return "", fmt.Errorf("directory: SyncDepartment: bad department id %d", id)
	}
	raw, err := w.fetch(ctx, apiDeptGet, map[string]int64{"dept_id": id})
	if dingtalk.IsNotFound(err) {
		return w.removeDepartment(ctx, id)
	}
	if err != nil {
		return "", fmt.Errorf("directory: sync department %d: %w", id, err)
	}
	next, err := parseDepartment(raw)
	if err != nil {
		return "", err
	}
	if next.DeptID != id {
		return "", fmt.Errorf("directory: sync department %d: DingTalk answered for %d", id, next.DeptID)
	}
	change := Unchanged
	_, err = record.Update(ctx, w.st, DepartmentsTable, DeptKey(id), func(cur Department, found bool) (Department, error) {
		if found && cur.Hash == next.Hash {
			change = Unchanged
			return cur, record.ErrNoChange
		}
		change = Updated
		if !found {
			change = Created
		}
		n := next
		n.ChangedAt = w.now().UTC()
		return n, nil
	}, record.WithReplaceMalformed())
	if err != nil {
		return "", fmt.Errorf("directory: sync department %d: %w", id, err)
	}
	// Every department has a members row, empty until its members' own
	// events (or the next walk) fill it.
	_, err = record.Update(ctx, w.st, MembersTable, DeptKey(id), func(cur Members, found bool) (Members, error) {
		if found {
			return cur, record.ErrNoChange
		}
		m := newMembers(id, nil)
		m.ChangedAt = w.now().UTC()
		return m, nil
	}, record.WithReplaceMalformed())
	if err != nil {
		return "", fmt.Errorf("directory: members of department %d: %w", id, err)
	}
	w.log.LogAttrs(ctx, slog.LevelDebug, "directory department synced", slog.Int64("dept_id", id), slog.String("change", string(change)))
	return change, nil
}

// removeDepartment deletes a department DingTalk says does not exist, and
// its members row.
func (w *Writer) removeDepartment(ctx context.Context, id int64) (Change, error) {
	change := Absent
	_, err := record.Update(ctx, w.st, DepartmentsTable, DeptKey(id), func(cur Department, found bool) (Department, error) {
		if !found {
			change = Absent
			return cur, record.ErrNoChange
		}
		change = Deleted
		return cur, record.ErrDelete
	}, record.WithReplaceMalformed())
	if err != nil {
		return "", fmt.Errorf("directory: remove department %d: %w", id, err)
	}
	if err := w.st.Delete(ctx, MembersTable, DeptKey(id), store.Always); err != nil {
		return "", fmt.Errorf("directory: remove members of department %d: %w", id, err)
	}
	if change == Deleted {
		w.log.LogAttrs(ctx, slog.LevelInfo, "directory department removed", slog.Int64("dept_id", id))
	}
	return change, nil
}
