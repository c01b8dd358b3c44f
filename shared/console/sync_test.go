package console_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/dingfn/dingfn/shared/console"
	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/schedule"
	"github.com/dingfn/dingfn/shared/store/memstore"
)

// runner is a sync runner the test steps through: it reports progress,
// then waits to be released.
type runner struct {
	progress func(directory.Report)
	started  chan struct{}
	release  chan error
}

func (r *runner) RunNow(ctx context.Context, _ ...string) (*schedule.Report, error) {
	r.progress(directory.Report{DepartmentsSeen: 3, UsersSeen: 40, APICalls: 9})
	close(r.started)
	select {
	case err := <-r.release:
		return &schedule.Report{OK: err == nil, Steps: []schedule.StepReport{{Step: "directory", Status: schedule.StatusDone, OK: err == nil,
			Report: directory.Report{OK: true, Complete: true, DepartmentsSeen: 7, UsersSeen: 80}}}}, err
	case <-ctx.Done():
		return &schedule.Report{}, ctx.Err()
	}
}

// "Sync now" runs once at a time, shows the walk's progress while it
// runs, and then the tick's report; a failure shows its (redacted) error.
func TestSyncNowProgressAndReport(t *testing.T) {
	st, err := memstore.New()
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{started: make(chan struct{}), release: make(chan error)}
	c, err := console.New(console.Sources{Mirror: directory.NewReader(st), Sync: r})
	if err != nil {
		t.Fatal(err)
	}
	r.progress = c.SyncProgress
	srv := httptest.NewServer(c)
	t.Cleanup(func() {
		srv.Close()
		c.Close()
	})
	view := func() console.SyncView {
		t.Helper()
		code, b := do(t, http.MethodGet, srv.URL+"/console/api/sync", "")
		var v console.SyncView
		if code != http.StatusOK || json.Unmarshal(b, &v) != nil {
			t.Fatalf("GET sync: %d %s", code, b)
		}
		return v
	}

	if v := view(); !v.CanSync || v.Running || v.Last != nil {
		t.Fatalf("before: %+v", v)
	}
	if code, m := postJSON(t, srv.URL+"/console/api/sync", `{}`); code != http.StatusAccepted {
		t.Fatalf("sync now: %d %v", code, m)
	}
	<-r.started
	v := view()
	if !v.Running || v.StartedAt == nil || v.Progress == nil || v.Progress.DepartmentsSeen != 3 || v.Progress.UsersSeen != 40 {
		t.Fatalf("while running: %+v", v)
	}
	if code, m := postJSON(t, srv.URL+"/console/api/sync", `{}`); code != http.StatusConflict || m["error"] != "sync_running" {
		t.Fatalf("a second sync now: %d %v", code, m)
	}
	r.release <- nil
	c.Close() // waits for the run to be recorded
	v = view()
	if v.Running || v.Progress != nil || v.Last == nil || v.Last.Trigger != "console" || !v.Last.OK || len(v.Last.Steps) != 1 {
		t.Fatalf("after: %+v", v)
	}
	var step map[string]any
	if err := json.Unmarshal(v.Last.Steps[0], &step); err != nil || step["step"] != "directory" || step["departments_seen"] != 7.0 {
		t.Errorf("step report %s", v.Last.Steps[0])
	}

	// A failing timer tick is recorded, its error redacted; a tick with
	// nothing due is not.
	c.RecordSync(&schedule.Report{Steps: []schedule.StepReport{{Step: "directory", Status: schedule.StatusFailed,
		Error: "GET https://oapi.dingtalk.com/gettoken?appsecret=s3cr3tvalue0123: timeout"}}},
		errors.New("directory: GET https://oapi.dingtalk.com/gettoken?appsecret=s3cr3tvalue0123: timeout"))
	c.RecordSync(&schedule.Report{OK: true, Steps: []schedule.StepReport{{Step: "directory", Status: schedule.StatusNotDue, OK: true}}}, nil)
	code, b := do(t, http.MethodGet, srv.URL+"/console/api/sync", "")
	if code != http.StatusOK || !json.Valid(b) {
		t.Fatalf("GET sync: %d %s", code, b)
	}
	if leaked(b, map[string]string{"app secret": "s3cr3tvalue0123"}) != nil {
		t.Errorf("a tick's error shows a secret: %s", b)
	}
	_ = json.Unmarshal(b, &v)
	if v.Last == nil || v.Last.Trigger != "timer" || v.Last.OK || v.Last.Error == "" {
		t.Errorf("the failed timer tick: %+v", v.Last)
	}
}
