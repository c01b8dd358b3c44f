package events_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/events"
)

var update = flag.Bool("update", false, "rewrite the testdata/payloads/*.golden.json files")

// parsed is what a golden file holds: the envelope and the typed payload.
type parsed struct {
	ID      string        `json:"id"`
	Type    string        `json:"type"`
	Family  events.Family `json:"family"`
	CorpID  string        `json:"corp_id"`
	Time    time.Time     `json:"time,omitzero"`
	Payload any           `json:"payload,omitempty"`
}

func typed(ev *events.Event) (any, error) {
	switch events.FamilyOf(ev.Type) {
	case events.FamilyUser:
		return ev.User()
	case events.FamilyLabel:
		return ev.Label()
	case events.FamilyDepartment:
		return ev.Department()
	case events.FamilyApprovalInstance:
		return ev.ApprovalInstance()
	case events.FamilyApprovalTask:
		return ev.ApprovalTask()
	case events.FamilyOrg:
		return ev.Org()
	}
	return nil, nil
}

// TestGoldenPayloads parses each payload under testdata/payloads (as
// DingTalk sends them, in both subscription shapes) into its typed form
// and compares the result with the .golden.json beside it, in the manner
// of aws-lambda-go's events tests. go test -update rewrites the goldens.
func TestGoldenPayloads(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/payloads/*.json")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".golden.json") {
			continue
		}
		n++
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := events.NewEvent(raw, events.SourcePush, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			p, err := typed(ev)
			if err != nil {
				t.Fatalf("typed payload: %v", err)
			}
			got, err := json.MarshalIndent(parsed{ev.ID, ev.Type, events.FamilyOf(ev.Type), ev.CorpID, ev.Time.UTC(), p}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := strings.TrimSuffix(f, ".json") + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("parsed %s:\n%s\nwant:\n%s", f, got, want)
			}
		})
	}
	if n < 10 {
		t.Errorf("only %d golden payloads", n)
	}
}

func TestTypedPayloadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, raw string
		parse     func(*events.Event) error
		field     string
		wrong     bool
	}{
		{"wrong family", `{"EventType":"user_add_org","UserId":["u1"]}`, func(e *events.Event) error { _, err := e.Department(); return err }, "", true},
		{"no user ids", `{"EventType":"user_add_org","UserId":[]}`, func(e *events.Event) error { _, err := e.User(); return err }, "UserId", false},
		{"user id object", `{"EventType":"user_add_org","UserId":[{"a":1}]}`, func(e *events.Event) error { _, err := e.User(); return err }, "UserId", false},
		{"dept id not a number", `{"EventType":"org_dept_remove","DeptId":["x"]}`, func(e *events.Event) error { _, err := e.Department(); return err }, "DeptId", false},
		{"no instance id", `{"EventType":"bpms_instance_change","type":"start"}`, func(e *events.Event) error { _, err := e.ApprovalInstance(); return err }, "processInstanceId", false},
		{"task id not a number", `{"EventType":"bpms_task_change","processInstanceId":"p","taskId":"t1"}`, func(e *events.Event) error { _, err := e.ApprovalTask(); return err }, "taskId", false},
		{"other type as org", `{"EventType":"chat_quit"}`, func(e *events.Event) error { _, err := e.Org(); return err }, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := events.NewEvent([]byte(tt.raw), events.SourcePush, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			err = tt.parse(ev)
			var pe *events.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v, want a *ParseError", err)
			}
			if !errors.Is(err, events.ErrPermanent) {
				t.Error("a ParseError is not permanent")
			}
			if errors.Is(err, events.ErrWrongFamily) != tt.wrong {
				t.Errorf("errors.Is(ErrWrongFamily) = %v, want %v", !tt.wrong, tt.wrong)
			}
			if !strings.EqualFold(pe.Field, tt.field) || pe.ID != ev.ID || pe.Type != ev.Type {
				t.Errorf("ParseError = %+v, want field %q", pe, tt.field)
			}
		})
	}
}

func TestFamilyOf(t *testing.T) {
	t.Parallel()
	for typ, want := range map[string]events.Family{
		"user_add_org": events.FamilyUser, "org_admin_remove": events.FamilyUser, "label_user_change": events.FamilyLabel,
		"org_dept_remove": events.FamilyDepartment, "bpms_task_change": events.FamilyApprovalTask,
		"bpms_instance_change": events.FamilyApprovalInstance, "org_remove": events.FamilyOrg,
		"check_in": events.FamilyOther, "USER_ADD_ORG": events.FamilyOther,
	} {
		if got := events.FamilyOf(typ); got != want {
			t.Errorf("FamilyOf(%q) = %s, want %s", typ, got, want)
		}
	}
}
