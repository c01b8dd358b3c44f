package dingtalktest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
)

// UserEvent builds a contact event about users (user_add_org,
// user_modify_org, user_leave_org, user_active_org, org_admin_add, …) in
// the shape register_call_back subscriptions receive, as observed on the
// wire: string TimeStamp and the operator in OptStaffId.
func (s *Server) UserEvent(eventType string, userIDs ...string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.userEvent(eventType, userIDs...)
}

func (s *Server) userEvent(eventType string, userIDs ...string) map[string]any {
	return s.orgEvent(eventType, "UserId", slices.Clone(userIDs))
}

// orgEvent is the register_call_back shape of user and department events:
// ids under key, string TimeStamp, the operator in OptStaffId.
func (s *Server) orgEvent(eventType, key string, ids any) map[string]any {
	return map[string]any{
		"EventType": eventType, key: ids, "CorpId": s.corpID,
		"TimeStamp": strconv.FormatInt(s.now().UnixMilli(), 10), "OptStaffId": s.operator(),
	}
}

// DeptEvent builds a department event (org_dept_create, org_dept_modify,
// org_dept_remove) in the register_call_back shape.
func (s *Server) DeptEvent(eventType string, deptIDs ...int64) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deptEvent(eventType, deptIDs...)
}

func (s *Server) deptEvent(eventType string, deptIDs ...int64) map[string]any {
	return s.orgEvent(eventType, "DeptId", slices.Clone(deptIDs))
}

// ProcessEvent builds a bpms_instance_change event for an instance created
// through the fake: type "start", or "finish" with its result, or
// "terminate". ok is false for an unknown instance.
func (s *Server) ProcessEvent(instanceID, typ string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.processEvent(instanceID, typ)
}

func (s *Server) processEvent(instanceID, typ string) (map[string]any, bool) {
	p := s.processes.instances[instanceID]
	if p == nil {
		return nil, false
	}
	ev := map[string]any{
		"EventType": "bpms_instance_change", "processInstanceId": p.ID, "processCode": p.ProcessCode,
		"corpId": s.corpID, "CorpId": s.corpID, "createTime": p.CreateTime.UnixMilli(), "title": p.Title,
		"type": typ, "staffId": p.OriginatorUserID, "businessId": p.BusinessID,
		"EventTime": s.now().UnixMilli(),
	}
	if typ != "start" && !p.FinishTime.IsZero() {
		ev["finishTime"] = p.FinishTime.UnixMilli()
	}
	if typ == "finish" && p.Result != "" {
		ev["result"] = p.Result
	}
	return ev, true
}

// operator is the admin who "made" a change: the first admin, if any.
func (s *Server) operator() string {
	for _, id := range s.dir.ids() {
		if s.dir.users[id].Admin {
			return id
		}
	}
	return ""
}

// WithAutoEvents makes the fake push a contact event to url after every
// change to the organisation, through the API or the test helpers, as
// DingTalk does for a subscribed app: user_add_org, user_modify_org,
// user_leave_org, org_dept_create, org_dept_modify, org_dept_remove; and
// bpms_instance_change when an approval starts or FinishProcessInstance
// ends it. Events
// are delivered in order by one background sender with DeliverEvent
// (retries, then the failed-result queue); FlushEvents waits for them.
func WithAutoEvents(url string) Option {
	return func(c *config) error {
		if url == "" {
			return fmt.Errorf("dingtalktest: WithAutoEvents: empty URL")
		}
		c.autoEvents = url
		return nil
	}
}

// eventQueue is the ordered, unbounded queue of automatic events.
type eventQueue struct {
	target string
	mu     sync.Mutex
	items  []queued
	wake   chan struct{}
	done   chan struct{} // closed when the sender has stopped
	errs   []error
}

// queued is an event or, with flush set, a marker FlushEvents waits on.
type queued struct {
	event map[string]any
	flush chan struct{}
}

func newEventQueue(target string) *eventQueue {
	return &eventQueue{target: target, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

func (q *eventQueue) push(it queued) {
	q.mu.Lock()
	q.items = append(q.items, it)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// run sends queued events until the server closes.
func (q *eventQueue) run(s *Server) {
	defer close(q.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.closed
		cancel()
	}()
	for {
		q.mu.Lock()
		if len(q.items) == 0 {
			q.mu.Unlock()
			select {
			case <-q.wake:
				continue
			case <-s.closed:
				return
			}
		}
		it := q.items[0]
		q.items = q.items[1:]
		q.mu.Unlock()
		if it.flush != nil {
			close(it.flush)
			continue
		}
		if err := s.DeliverEvent(ctx, q.target, it.event); err != nil {
			q.mu.Lock()
			q.errs = append(q.errs, err)
			q.mu.Unlock()
		}
	}
}

// emit queues an automatic event. The caller holds s.mu.
func (s *Server) emit(ev map[string]any) {
	if s.events != nil {
		s.events.push(queued{event: ev})
	}
}

func (s *Server) emitUser(eventType string, userIDs ...string) {
	if s.events != nil {
		s.emit(s.userEvent(eventType, userIDs...))
	}
}

func (s *Server) emitProcess(instanceID, typ string) {
	if s.events != nil {
		if ev, ok := s.processEvent(instanceID, typ); ok {
			s.emit(ev)
		}
	}
}

func (s *Server) emitDept(eventType string, deptIDs ...int64) {
	if s.events != nil {
		s.emit(s.deptEvent(eventType, deptIDs...))
	}
}

// FlushEvents waits until every automatic event queued so far has been
// delivered or given up on, and returns the delivery errors since the last
// flush. It returns at once without WithAutoEvents.
func (s *Server) FlushEvents(ctx context.Context) ([]error, error) {
	q := s.events
	if q == nil {
		return nil, nil
	}
	marker := make(chan struct{})
	q.push(queued{flush: marker})
	select {
	case <-marker:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-q.done:
		return nil, fmt.Errorf("dingtalktest: server closed before events were flushed")
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	errs := q.errs
	q.errs = nil
	return errs, nil
}
