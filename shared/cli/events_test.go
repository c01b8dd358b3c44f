package cli

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dingfn/dingfn/shared/events"
)

// failedAnswer is `callback failed --record --json`.
type failedAnswer struct {
	Failed   []failedPush         `json:"failed"`
	Recorded events.RecoverReport `json:"recorded"`
}

type eventList struct {
	Events []events.Entry `json:"events"`
}

// Failed pushes recorded into the event log are listed, shown, processed
// by a replay through the drain, and found by status and type.
func TestEventsFromFailedPushes(t *testing.T) {
	h := newHarness(t, onEmulator)
	at := time.Date(2026, 2, 28, 9, 30, 0, 0, time.UTC)
	h.fake.AddFailedEvent("user_add_org", at, map[string]any{"userid": []string{"wangwu"}})
	h.fake.AddFailedEvent("bpms_instance_change", at.Add(time.Minute), map[string]any{"bpmsCallBackData": map[string]any{
		"EventType": "bpms_instance_change", "processInstanceId": "proc-that-does-not-exist", "processCode": "PROC-X", "type": "start"}})

	rec := decodeAnswer[failedAnswer](t, h.ok("callback", "failed", "--record", "--json"))
	require.Len(t, rec.Failed, 2)
	assert.Equal(t, 2, rec.Recorded.New)
	assert.Zero(t, h.fake.FailedEventCount())
	userID, approvalID := rec.Failed[0].ID, rec.Failed[1].ID
	require.NotEmpty(t, userID)
	require.NotEmpty(t, approvalID)

	list := decodeAnswer[eventList](t, h.ok("events", "list", "--json"))
	require.Len(t, list.Events, 2)
	for _, e := range list.Events {
		assert.Equal(t, events.StatusPending, e.Status, e.ID)
		assert.Equal(t, events.SourceFailedResult, e.Source)
		assert.Empty(t, e.Payload, "list leaves the payload to show")
	}
	out := h.ok("events", "list")
	assert.Regexp(t, userID+`\s+user_add_org\s+pending`, out)

	// Replaying runs the drain now: the contact event is done, the
	// approval whose instance DingTalk does not know is not.
	out = h.ok("events", "replay", userID, approvalID)
	assert.Regexp(t, userID+`\s+user_add_org\s+done`, out)
	got := decodeAnswer[eventList](t, h.ok("events", "list", "--status", "done", "--json"))
	require.Len(t, got.Events, 1)
	assert.Equal(t, userID, got.Events[0].ID)
	got = decodeAnswer[eventList](t, h.ok("events", "list", "--type", "bpms_*", "--json"))
	require.Len(t, got.Events, 1)
	assert.NotEqual(t, events.StatusDone, got.Events[0].Status)
	assert.NotEmpty(t, got.Events[0].LastError)

	out = h.ok("events", "show", userID)
	assert.Regexp(t, `Status:\s+done`, out)
	assert.Regexp(t, events.RouteContacts+`\s+done`, out)
	assert.Contains(t, out, `"wangwu"`)
	var e events.Entry
	require.NoError(t, json.Unmarshal([]byte(h.ok("events", "show", userID, "--json")), &e))
	assert.JSONEq(t, `["wangwu"]`, string(mustField(t, e.Payload, "userid")))

	// A replay of a finished event with --queue-only leaves it pending.
	out = h.ok("events", "replay", userID, "--all", "--queue-only")
	assert.Regexp(t, userID+`\s+user_add_org\s+pending`, out)

	r := h.run("events", "replay", "no-such-event", userID)
	assert.Equal(t, ExitNotFound, r.code, r.stderr)
	assert.Regexp(t, userID+`\s+user_add_org\s+done`, r.stdout, "the known id is still replayed")
	assert.Equal(t, ExitNotFound, h.run("events", "show", "no-such-event").code)
	assert.Equal(t, ExitUsage, h.run("events", "list", "--status", "lost").code)
	assert.Equal(t, ExitUsage, h.run("events", "list", "--type", "user_*_org").code)
	assert.Equal(t, ExitUsage, h.run("events", "replay").code)

	// Without --record the pushes are printed, and say what was missed.
	h.fake.AddFailedEvent("user_leave_org", at, map[string]any{"userid": []string{"zhengshi"}})
	out = h.ok("callback", "failed")
	assert.Contains(t, out, "--record would have logged them")
	assert.Len(t, decodeAnswer[eventList](t, h.ok("events", "list", "--json")).Events, 2)
}

func mustField(t *testing.T, obj json.RawMessage, key string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(obj, &m))
	return m[key]
}
