package directory

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/record"
)

// ErrNotFound is matched by the error of a lookup the mirror cannot answer.
var ErrNotFound = errors.New("directory: not found")

// Reader answers directory questions from the mirror, without calling
// DingTalk: who is this userid or unionid, what is in this department.
// notify, the CLI and the console use it. Safe for concurrent use.
type Reader struct {
	st store.Store
}

// NewReader returns a reader of the mirror in st.
func NewReader(st store.Store) *Reader { return &Reader{st: st} }

// getRow reads one mirror row, turning an absent one into ErrNotFound.
func getRow[T any](ctx context.Context, st store.Store, table, key, what string) (T, error) {
	rec, err := record.Get[T](ctx, st, table, key)
	if errors.Is(err, store.ErrNotFound) {
		var zero T
		return zero, fmt.Errorf("%w: %s", ErrNotFound, what)
	}
	if err != nil {
		var zero T
		return zero, fmt.Errorf("directory: %s: %w", what, err)
	}
	return rec.Value, nil
}

// User returns the user with userid. A user who left is still returned,
// with LeftAt set, until the tombstone's retention ends, so "who was this
// userid" keeps an answer.
func (r *Reader) User(ctx context.Context, userid string) (User, error) {
	if userid == "" {
		return User{}, fmt.Errorf("%w: empty userid", ErrNotFound)
	}
	return getRow[User](ctx, r.st, UsersTable, userid, "user "+userid)
}

// UserByUnionID returns the current member a unionid (from a scan login)
// belongs to; people who left are not found.
func (r *Reader) UserByUnionID(ctx context.Context, unionid string) (User, error) {
	if unionid == "" {
		return User{}, fmt.Errorf("%w: empty unionid", ErrNotFound)
	}
	x, err := getRow[UnionID](ctx, r.st, UnionIDsTable, unionid, "unionid "+unionid)
	if err != nil {
		return User{}, err
	}
	u, err := r.User(ctx, x.UserID)
	if err != nil {
		return User{}, err
	}
	if !u.LeftAt.IsZero() || u.UnionID != unionid {
		return User{}, fmt.Errorf("%w: unionid %s", ErrNotFound, unionid)
	}
	return u, nil
}

// Department returns a department.
func (r *Reader) Department(ctx context.Context, id int64) (Department, error) {
	return getRow[Department](ctx, r.st, DepartmentsTable, DeptKey(id), "department "+DeptKey(id))
}

// Departments iterates over every department, in key order.
func (r *Reader) Departments(ctx context.Context) iter.Seq2[Department, error] {
	return rows[Department](ctx, r.st, DepartmentsTable, nil)
}

// Users iterates over the current members (not the tombstones of people
// who left), in userid order.
func (r *Reader) Users(ctx context.Context) iter.Seq2[User, error] {
	return rows(ctx, r.st, UsersTable, func(u User) bool { return u.LeftAt.IsZero() })
}

// rows iterates over a table's rows that keep accepts (nil: all).
func rows[T any](ctx context.Context, st store.Store, table string, keep func(T) bool) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for it, err := range store.All(ctx, st, table, store.Range{}) {
			var v T
			if err != nil {
				yield(v, fmt.Errorf("directory: scan %s: %w", table, err))
				return
			}
			if err := json.Unmarshal(it.Value, &v); err != nil {
				yield(v, fmt.Errorf("directory: %w: %s %q: %w", record.ErrMalformed, table, it.Key, err))
				return
			}
			if keep != nil && !keep(v) {
				continue
			}
			if !yield(v, nil) {
				return
			}
		}
	}
}

// Children returns a department's direct sub-departments, ordered as
// DingTalk orders them (by order, then id). Departments name their parent,
// so the answer is always consistent with the department rows, however
// they were written.
func (r *Reader) Children(ctx context.Context, id int64) ([]Department, error) {
	var out []Department
	for d, err := range r.Departments(ctx) {
		if err != nil {
			return nil, err
		}
		if d.ParentID == id && d.DeptID != id {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b Department) int {
		return cmp.Or(cmp.Compare(a.Order, b.Order), cmp.Compare(a.DeptID, b.DeptID))
	})
	return out, nil
}

// Members returns the userids of a department's direct members, or with
// recursive those of every department below it too, each once and sorted.
func (r *Reader) Members(ctx context.Context, id int64, recursive bool) ([]string, error) {
	if !recursive {
		m, err := getRow[Members](ctx, r.st, MembersTable, DeptKey(id), "members of department "+DeptKey(id))
		if errors.Is(err, ErrNotFound) {
			if _, derr := r.Department(ctx, id); derr != nil {
				return nil, derr
			}
			return []string{}, nil // a department without members yet
		}
		return m.UserIDs, err
	}
	subtree, err := r.subtree(ctx, id)
	if err != nil {
		return nil, err
	}
	var ids []string
	for m, err := range rows[Members](ctx, r.st, MembersTable, func(m Members) bool { return subtree[m.DeptID] }) {
		if err != nil {
			return nil, err
		}
		ids = append(ids, m.UserIDs...)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if ids == nil {
		ids = []string{}
	}
	return ids, nil
}

// subtree returns id and every department below it.
func (r *Reader) subtree(ctx context.Context, id int64) (map[int64]bool, error) {
	children := map[int64][]int64{}
	found := false
	for d, err := range r.Departments(ctx) {
		if err != nil {
			return nil, err
		}
		found = found || d.DeptID == id
		if d.DeptID != d.ParentID {
			children[d.ParentID] = append(children[d.ParentID], d.DeptID)
		}
	}
	if !found {
		return nil, fmt.Errorf("%w: department %s", ErrNotFound, strconv.FormatInt(id, 10))
	}
	in := map[int64]bool{id: true}
	queue := []int64{id}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		for _, c := range children[d] {
			if !in[c] {
				in[c] = true
				queue = append(queue, c)
			}
		}
	}
	return in, nil
}

// Status returns the sync's status: the last complete walk (when, how
// many users and departments the mirror held after it) and the walk in
// progress, if any.
func (r *Reader) Status(ctx context.Context) (Status, error) {
	return readStatus(ctx, r.st)
}
