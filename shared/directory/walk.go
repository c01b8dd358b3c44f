package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/record"
)

// run is one Syncer.Run: the walk so far, the index, the counters.
type run struct {
	s        *Syncer
	w        *Writer
	st       store.Store
	opts     RunOptions
	runStart time.Time
	lastSave time.Time
	resumed  bool
	cp       *Checkpoint
	idx      *index
	// sink takes the walk's decisions: the store for Run, a plan for Diff.
	sink sink
	// mirrorBefore is the number of current records (users plus
	// departments) when the run began, which the deletion guard's share
	// applies to.
	mirrorBefore int

	// seenUsers and seenDepts are the walk's seen-set, over all its runs;
	// newUsers and newDepts what this run saw since its last checkpoint.
	seenUsers map[string]struct{}
	seenDepts map[int64]struct{}
	newUsers  []string
	newDepts  []int64
	chunkSeq  int
	// multi holds the per-department facts of users in several
	// departments, gathered as each department lists them.
	multi map[string]map[int64]deptFact
	// written marks users this run created or updated, so a user listed by
	// several departments is counted once.
	written map[string]bool

	mu          sync.Mutex // guards the counters below, shared with the tree lane
	tot         Totals
	calls       map[string]int
	apiCalls    int
	rateWaits   int
	storeWrites int
	stateWrites int
	conflicts   int
	hidden      int
	guard       *Guard
	// wouldWrite counts the record rows a dry run would have written.
	wouldWrite int
	// removal is what the complete walk found unseen (finish).
	removal deletionPlan
}

func (r *run) count(f func(*Totals)) {
	r.mu.Lock()
	f(&r.tot)
	r.mu.Unlock()
}

// errStop ends a run early without failing it: the deadline came while
// DingTalk's rate limit kept the walk waiting.
var errStop = errors.New("directory: deadline reached")

// expired reports whether the run should stop starting DingTalk calls.
func (r *run) expired() bool {
	return !r.opts.Deadline.IsZero() && !r.w.now().Before(r.opts.Deadline)
}

// call makes one contact read and returns its "result". A rate-limit
// answer that outlasted the client's own retries is waited out here,
// with a growing pause, as long as the deadline allows: the walk backs off
// and continues rather than failing. Other failures (the client has
// already retried busy, 5xx and dropped connections of these reads) end
// the run, which keeps its checkpoint.
func (r *run) call(ctx context.Context, api string, params any) (json.RawMessage, error) {
	pause := r.s.backoff
	for {
		r.mu.Lock()
		r.apiCalls++
		r.calls[api]++
		r.mu.Unlock()
		raw, err := r.w.fetch(ctx, api, params)
		if err == nil || !dingtalk.IsRateLimited(err) || dingtalk.IsQuotaExhausted(err) {
			return raw, err
		}
		if !r.opts.Deadline.IsZero() && !r.w.now().Add(pause).Before(r.opts.Deadline) {
			return nil, errStop
		}
		r.mu.Lock()
		r.rateWaits++
		r.mu.Unlock()
		if err := r.s.sleep(ctx, pause); err != nil {
			return nil, err
		}
		pause = min(2*pause, r.s.maxBackoff)
	}
}

// visit is the tree lane's work on one department: its record and its
// sub-departments not seen before.
type visit struct {
	id   int64
	dept Department
	// skip says the department is not part of the mirror: gone (DingTalk
	// says it no longer exists) or hidden (outside the app's contact
	// scope; its sub-departments may still be inside).
	skip     skipReason
	children []int64
	err      error
}

type skipReason uint8

const (
	keep skipReason = iota
	gone
	hidden
)

// treeLane fetches department details and sub-department ids breadth first
// from queue, ahead of the member lane, so the two kinds of calls overlap
// (each API has its own rate limit). It sends one visit per department in
// queue order and stops after an error.
func (r *run) treeLane(ctx context.Context, queue []int64, discovered map[int64]bool, out chan<- visit) {
	defer close(out)
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		v := r.fetchDept(ctx, id)
		if v.err == nil {
			kids := v.children
			v.children = nil
			for _, c := range kids {
				if !discovered[c] {
					discovered[c] = true
					v.children = append(v.children, c)
					queue = append(queue, c)
				}
			}
		}
		select {
		case out <- v:
		case <-ctx.Done():
			return
		}
		if v.err != nil {
			return
		}
	}
}

// fetchDept reads a department and its sub-department ids, in parallel.
func (r *run) fetchDept(ctx context.Context, id int64) visit {
	v := visit{id: id}
	params := map[string]int64{"dept_id": id}
	var kidsRaw json.RawMessage
	var kidsErr error
	var wg sync.WaitGroup
	wg.Go(func() { kidsRaw, kidsErr = r.call(ctx, apiDeptSubIDs, params) })
	raw, err := r.call(ctx, apiDeptGet, params)
	wg.Wait()
	switch {
	case dingtalk.IsNotFound(err) || dingtalk.IsNotFound(kidsErr):
		v.skip = gone // removed since its parent listed it
		return v
	case dingtalk.IsOutOfScope(kidsErr):
		v.skip = hidden
		return v
	case dingtalk.IsOutOfScope(err) && kidsErr == nil:
		// listsubid ignores the contact scope: walk on below.
		v.skip, err = hidden, nil
	}
	if err = errors.Join(err, kidsErr); err != nil {
		v.err = fmt.Errorf("directory: department %d: %w", id, err)
		return v
	}
	if v.skip == keep {
		if v.dept, err = parseDepartment(raw); err != nil {
			v.err = err
			return v
		}
	}
	var kids struct {
		DeptIDList []int64 `json:"dept_id_list"`
	}
	if err := json.Unmarshal(kidsRaw, &kids); err != nil {
		v.err = fmt.Errorf("directory: sub-departments of %d: %w", id, err)
		return v
	}
	v.children = kids.DeptIDList
	return v
}

// walk runs the member lane over the queue until it is empty (true), the
// deadline passes or an error stops it (false, with the checkpoint to
// save). It lists each department's members page by page, diffs every
// record against the index and writes what changed, page by page, in
// conditional batches.
func (r *run) walk(ctx context.Context) (bool, error) {
	r.mirrorBefore = r.idx.liveUsers() + len(r.idx.depts)
	ctx, cancel := context.WithCancel(ctx)
	visits := make(chan visit, r.s.prefetch)
	discovered := make(map[int64]bool, len(r.seenDepts)+len(r.cp.Queue))
	for id := range r.seenDepts {
		discovered[id] = true
	}
	for _, id := range r.cp.Queue {
		discovered[id] = true
	}
	lane := make(chan struct{})
	go func() {
		defer close(lane)
		r.treeLane(ctx, append([]int64(nil), r.cp.Queue...), discovered, visits)
	}()
	defer func() {
		cancel()
		for range visits { // let the tree lane see the cancellation and end
		}
		<-lane
	}()

	for len(r.cp.Queue) > 0 {
		if r.expired() {
			return false, nil
		}
		var v visit
		var ok bool
		select {
		case v, ok = <-visits:
		case <-ctx.Done():
			return false, ctx.Err()
		}
		switch {
		case !ok:
			return false, ctx.Err()
		case errors.Is(v.err, errStop):
			return false, nil
		case v.err != nil:
			return false, v.err
		case v.id != r.cp.Queue[0]:
			return false, fmt.Errorf("directory: walk out of step: tree lane at %d, member lane at %d", v.id, r.cp.Queue[0])
		}
		if v.skip == keep {
			if err := r.stageDept(ctx, v.dept); err != nil {
				return false, err
			}
			done, skip, err := r.listMembers(ctx, v.id)
			if err != nil || !done {
				return false, err
			}
			v.skip = skip
		}
		r.cp.Queue = append(r.cp.Queue[1:], v.children...)
		r.cp.Cursor, r.cp.Members = 0, nil
		switch v.skip {
		case keep:
			r.seenDepts[v.id] = struct{}{}
			r.newDepts = append(r.newDepts, v.id)
		case hidden:
			r.mu.Lock()
			r.hidden++
			r.mu.Unlock()
		}
		if r.s.progress != nil {
			r.s.progress(*r.report(r.runStart, nil))
		}
		if r.w.now().Sub(r.lastSave) >= r.s.checkpointEvery && len(r.cp.Queue) > 0 {
			if err := r.sink.save(ctx, r); err != nil {
				return false, err
			}
		}
	}
	return true, nil
}

// userPage is one page of v2/user/list.
type userPage struct {
	HasMore    bool              `json:"has_more"`
	NextCursor int64             `json:"next_cursor"`
	List       []json.RawMessage `json:"list"`
}

// listMembers lists a department's members from the checkpoint's cursor,
// writing the users that changed after each page and the department's
// members row after the last. It returns done=false when the deadline
// came first (the cursor and the members so far are in the checkpoint),
// and a skip reason when the department vanished or left the app's
// contact scope meanwhile.
func (r *run) listMembers(ctx context.Context, dept int64) (done bool, skip skipReason, err error) {
	cursor := r.cp.Cursor
	for {
		if r.expired() {
			return false, keep, nil
		}
		raw, err := r.call(ctx, apiUserList, map[string]any{"dept_id": dept, "cursor": cursor, "size": userPageSize})
		switch {
		case errors.Is(err, errStop):
			return false, keep, nil
		case dingtalk.IsNotFound(err):
			return true, gone, nil
		case dingtalk.IsOutOfScope(err):
			return true, hidden, nil
		case err != nil:
			return false, keep, fmt.Errorf("directory: members of department %d: %w", dept, err)
		}
		var page userPage
		if err := json.Unmarshal(raw, &page); err != nil {
			return false, keep, fmt.Errorf("directory: members of department %d: %w", dept, err)
		}
		var ws []staged
		for _, item := range page.List {
			id, w, err := r.stageUser(ctx, item, dept)
			if err != nil {
				return false, keep, err
			}
			r.cp.Members = append(r.cp.Members, id)
			ws = append(ws, w...)
		}
		more := page.HasMore && page.NextCursor != cursor
		if !more {
			mw, err := r.stageMembers(ctx, dept)
			if err != nil {
				return false, keep, err
			}
			ws = append(ws, mw...)
		}
		if err := r.apply(ctx, ws); err != nil {
			return false, keep, err
		}
		if !more {
			return true, keep, nil
		}
		cursor = page.NextCursor
		r.cp.Cursor = cursor
	}
}

// staged is a write the diff decided on, with what to do once it is
// applied.
type staged struct {
	w rowWrite
	// rec says what the write does to a user or department, for a dry
	// run's plan; nil for the rows that follow them (members, unionids).
	rec *RecordChange
	// done records the outcome in the index and the counters; err is nil,
	// or matches store.ErrConflict when another writer won.
	done func(ctx context.Context, err error) error
}

// apply hands a page's staged rows to the sink.
func (r *run) apply(ctx context.Context, ws []staged) error {
	if len(ws) == 0 {
		return nil
	}
	return r.sink.write(ctx, r, ws)
}

// condFor returns the condition of a write over a row the index knows:
// IfAbsent for a new row, IfVersion with the version read otherwise. A
// version the index lost (the row was written by a batch in this run) is
// read first.
func (r *run) condFor(ctx context.Context, table, key string, exists bool, version int64) (store.Cond, error) {
	if !exists {
		return store.IfAbsent, nil
	}
	if version != 0 {
		return store.IfVersion(version), nil
	}
	it, err := r.st.Get(ctx, table, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.IfAbsent, nil
	case err != nil:
		return store.Cond{}, fmt.Errorf("directory: read %s %s: %w", table, key, err)
	}
	return store.IfVersion(it.Version), nil
}

func encode(table, key string, v any, expires time.Time) (store.Item, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return store.Item{}, fmt.Errorf("directory: encode %s %s: %w", table, key, err)
	}
	return store.Item{Key: key, Value: b, ExpiresAt: expires}, nil
}

// stageUser diffs one listed user against the index and returns its userid
// and the writes it needs (none when unchanged).
func (r *run) stageUser(ctx context.Context, item json.RawMessage, dept int64) (string, []staged, error) {
	src, err := parseUser(item)
	if err != nil {
		return "", nil, fmt.Errorf("directory: department %d: %w", dept, err)
	}
	id := src.view.UserID
	fact := deptFact{Order: src.view.DeptOrder, Leader: src.view.Leader}
	var facts map[int64]deptFact
	if len(src.view.DeptIDList) <= 1 {
		facts = map[int64]deptFact{dept: fact}
	} else {
		// Each department's listing knows only its own order and
		// leadership: gather them, starting from what the mirror holds
		// for the departments not listed yet, so an unchanged user stays
		// unchanged whichever department lists it first.
		if facts = r.multi[id]; facts == nil {
			if facts, err = r.storedFacts(ctx, id); err != nil {
				return "", nil, err
			}
			r.multi[id] = facts
		}
		facts[dept] = fact
	}
	u := src.record(facts)
	if _, seen := r.seenUsers[id]; !seen {
		r.seenUsers[id] = struct{}{}
		r.newUsers = append(r.newUsers, id)
	}
	var out []staged
	old, exists := r.idx.users[id]
	h := parseDigest(u.Hash)
	if !exists || old.left || old.hash != h {
		cond, err := r.condFor(ctx, UsersTable, id, exists, old.version)
		if err != nil {
			return "", nil, err
		}
		u.ChangedAt = r.w.now().UTC()
		it, err := encode(UsersTable, id, u, time.Time{})
		if err != nil {
			return "", nil, err
		}
		created := !exists || old.left
		rec := &RecordChange{Kind: KindUser, ID: id, Change: Updated}
		if created {
			rec.Change = Created
		}
		out = append(out, staged{w: rowWrite{table: UsersTable, item: it, cond: cond}, rec: rec, done: func(ctx context.Context, err error) error {
			if err != nil {
				return r.refreshUser(ctx, id)
			}
			r.idx.users[id] = userRow{row: row{hash: h, changed: u.ChangedAt.UnixMilli()}, unionID: u.UnionID}
			if !r.written[id] {
				r.written[id] = true
				r.count(func(t *Totals) {
					if created {
						t.Users.Created++
					} else {
						t.Users.Updated++
					}
				})
			}
			return nil
		}})
	}
	unionWrites, err := r.stageUnionID(ctx, id, old.unionID, u.UnionID)
	if err != nil {
		return "", nil, err
	}
	return id, append(out, unionWrites...), nil
}

// storedFacts returns the per-department facts the mirror holds for a
// user, or none for a user it does not hold.
func (r *run) storedFacts(ctx context.Context, id string) (map[int64]deptFact, error) {
	if u, ok := r.idx.users[id]; !ok || u.left {
		return map[int64]deptFact{}, nil
	}
	rec, err := record.Get[User](ctx, r.st, UsersTable, id)
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, record.ErrMalformed):
		return map[int64]deptFact{}, nil
	case err != nil:
		return nil, fmt.Errorf("directory: read user %s: %w", id, err)
	}
	return factsOf(rec.Value), nil
}

// refreshUser re-reads a user row another writer changed under the run,
// so the rest of the walk decides against the newer row, which is kept.
func (r *run) refreshUser(ctx context.Context, id string) error {
	rec, err := record.Get[User](ctx, r.st, UsersTable, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		delete(r.idx.users, id)
		return nil
	case errors.Is(err, record.ErrMalformed):
		r.idx.users[id] = userRow{row: row{version: rec.Version}}
		return nil
	case err != nil:
		return fmt.Errorf("directory: re-read user %s: %w", id, err)
	}
	u := rec.Value
	r.idx.users[id] = userRow{row: row{hash: parseDigest(u.Hash), version: rec.Version, changed: u.ChangedAt.UnixMilli()},
		unionID: u.UnionID, left: !u.LeftAt.IsZero()}
	return nil
}

// stageUnionID points the unionid index at userid (from its old unionid
// to its new one) when it does not already.
func (r *run) stageUnionID(ctx context.Context, userid, from, to string) ([]staged, error) {
	var out []staged
	if from != "" && from != to {
		if x, ok := r.idx.unions[from]; ok && x.userID == userid {
			cond, err := r.condFor(ctx, UnionIDsTable, from, true, x.version)
			if err != nil {
				return nil, err
			}
			out = append(out, staged{w: rowWrite{table: UnionIDsTable, item: store.Item{Key: from}, del: true, cond: cond},
				done: func(ctx context.Context, err error) error { return r.refreshUnion(ctx, from, err) }})
		}
	}
	if to == "" {
		return out, nil
	}
	x, ok := r.idx.unions[to]
	if ok && x.userID == userid {
		return out, nil
	}
	cond, err := r.condFor(ctx, UnionIDsTable, to, ok, x.version)
	if err != nil {
		return nil, err
	}
	it, err := encode(UnionIDsTable, to, UnionID{UnionID: to, UserID: userid}, time.Time{})
	if err != nil {
		return nil, err
	}
	return append(out, staged{w: rowWrite{table: UnionIDsTable, item: it, cond: cond}, done: func(ctx context.Context, err error) error {
		if err != nil {
			return r.refreshUnion(ctx, to, err)
		}
		r.idx.unions[to] = unionRow{userID: userid}
		return nil
	}}), nil
}

// refreshUnion brings the index's view of one unionid row up to date after
// a write: gone after a delete, re-read after a conflict.
func (r *run) refreshUnion(ctx context.Context, union string, err error) error {
	if err == nil {
		delete(r.idx.unions, union)
		return nil
	}
	rec, err := record.Get[UnionID](ctx, r.st, UnionIDsTable, union)
	switch {
	case errors.Is(err, store.ErrNotFound):
		delete(r.idx.unions, union)
		return nil
	case errors.Is(err, record.ErrMalformed):
		r.idx.unions[union] = unionRow{version: rec.Version}
		return nil
	case err != nil:
		return fmt.Errorf("directory: re-read unionid row: %w", err)
	}
	r.idx.unions[union] = unionRow{userID: rec.Value.UserID, version: rec.Version}
	return nil
}

// stageDept diffs a department against the index and writes it if it
// changed.
func (r *run) stageDept(ctx context.Context, d Department) error {
	old, exists := r.idx.depts[d.DeptID]
	h := parseDigest(d.Hash)
	if exists && old.hash == h {
		return nil
	}
	key := DeptKey(d.DeptID)
	cond, err := r.condFor(ctx, DepartmentsTable, key, exists, old.version)
	if err != nil {
		return err
	}
	d.ChangedAt = r.w.now().UTC()
	it, err := encode(DepartmentsTable, key, d, time.Time{})
	if err != nil {
		return err
	}
	rec := &RecordChange{Kind: KindDepartment, ID: key, Change: Updated}
	if !exists {
		rec.Change = Created
	}
	return r.apply(ctx, []staged{{w: rowWrite{table: DepartmentsTable, item: it, cond: cond}, rec: rec, done: func(ctx context.Context, err error) error {
		if err != nil {
			return r.refreshRow(ctx, DepartmentsTable, d.DeptID, r.idx.depts)
		}
		r.idx.depts[d.DeptID] = row{hash: h, changed: d.ChangedAt.UnixMilli()}
		r.count(func(t *Totals) {
			if exists {
				t.Departments.Updated++
			} else {
				t.Departments.Created++
			}
		})
		return nil
	}}})
}

// stageMembers diffs the members row of a department whose listing is
// complete.
func (r *run) stageMembers(ctx context.Context, dept int64) ([]staged, error) {
	m := newMembers(dept, r.cp.Members)
	old, exists := r.idx.members[dept]
	h := parseDigest(m.Hash)
	if exists && old.hash == h {
		return nil, nil
	}
	key := DeptKey(dept)
	cond, err := r.condFor(ctx, MembersTable, key, exists, old.version)
	if err != nil {
		return nil, err
	}
	m.ChangedAt = r.w.now().UTC()
	it, err := encode(MembersTable, key, m, time.Time{})
	if err != nil {
		return nil, err
	}
	listed := m.UserIDs
	return []staged{{w: rowWrite{table: MembersTable, item: it, cond: cond}, done: func(ctx context.Context, err error) error {
		if errors.Is(err, store.ErrConflict) {
			// A contact event changed the row since the walk read it. The
			// event fixed its own user, but the users whose rows this walk
			// has already moved would keep their old membership (their
			// events find their rows unchanged): rebuild the row from the
			// user rows instead of dropping the walk's listing.
			if err := r.w.reconcileMembers(ctx, dept, listed); err != nil {
				return err
			}
		}
		if err != nil {
			return r.refreshRow(ctx, MembersTable, dept, r.idx.members)
		}
		r.idx.members[dept] = row{hash: h, changed: m.ChangedAt.UnixMilli()}
		return nil
	}}}, nil
}

// refreshRow re-reads a department or members row another writer changed.
func (r *run) refreshRow(ctx context.Context, table string, id int64, into map[int64]row) error {
	it, err := r.st.Get(ctx, table, DeptKey(id))
	switch {
	case errors.Is(err, store.ErrNotFound):
		delete(into, id)
		return nil
	case err != nil:
		return fmt.Errorf("directory: re-read %s %d: %w", table, id, err)
	}
	var h struct {
		Hash      string    `json:"hash"`
		ChangedAt time.Time `json:"changed_at"`
	}
	_ = json.Unmarshal(it.Value, &h) // a broken row compares unequal and is rewritten next time
	into[id] = row{hash: parseDigest(h.Hash), version: it.Version, changed: h.ChangedAt.UnixMilli()}
	return nil
}

// checkpoint saves the walk's place: the ids seen since the last
// checkpoint as new seen-set chunks, then the status row (fenced).
func (r *run) checkpoint(ctx context.Context) error {
	for len(r.newUsers) > 0 || len(r.newDepts) > 0 {
		var c seenChunk
		n := min(len(r.newUsers), maxChunkIDs)
		c.Users, r.newUsers = r.newUsers[:n], r.newUsers[n:]
		m := min(len(r.newDepts), maxChunkIDs-n)
		c.Departments, r.newDepts = r.newDepts[:m], r.newDepts[m:]
		it, err := encode(StateTable, chunkKey(r.cp.ID, r.opts.Fence, r.runStart, r.chunkSeq), c, time.Time{})
		if err != nil {
			return err
		}
		if _, err := r.st.Put(ctx, StateTable, it, store.IfAbsent); err != nil {
			return fmt.Errorf("directory: save the walk's seen-set: %w", err)
		}
		r.chunkSeq++
		r.stateWrites++
		r.storeWrites++
	}
	cp := *r.cp
	cp.Queue = append([]int64(nil), r.cp.Queue...)
	cp.Members = append([]string(nil), r.cp.Members...)
	if len(cp.Members) > maxCheckpointMembers {
		cp.Cursor, cp.Members = 0, nil // too big for the row: list that department again
	}
	r.mu.Lock()
	cp.Totals = r.tot
	r.mu.Unlock()
	cp.Totals.Users.Seen, cp.Totals.Departments.Seen = len(r.seenUsers), len(r.seenDepts)
	if err := saveStatus(ctx, r.st, r.opts.Fence, func(s *Status) { s.Walk = &cp }); err != nil {
		return err
	}
	r.stateWrites++
	r.storeWrites++
	r.lastSave = r.w.now()
	return nil
}
