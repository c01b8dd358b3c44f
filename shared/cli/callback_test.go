package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The callback commands drive DingTalk's registration API end to end: the
// fake pushes check_url to the real callback endpoint before it saves.
func TestCallbackLifecycle(t *testing.T) {
	h := newHarness(t, onEmulator)
	url := h.receiver()

	out := h.ok("callback", "register", "--url", url)
	h.golden("callback/register.txt", out)
	reg, ok := h.fake.CallbackRegistration()
	require.True(t, ok)
	assert.Equal(t, url, reg.URL)
	assert.Equal(t, DefaultCallbackTags, reg.Tags)
	assert.Equal(t, testCallbackToken, reg.Token)
	assert.Equal(t, testCallbackAESKey, reg.AESKey)

	r := h.run("callback", "register", "--url", url)
	assert.Equal(t, ExitDingTalk, r.code, "a second registration: %s", r.stderr)
	assert.Contains(t, r.stderr, "errcode 71006")
	assert.Contains(t, r.stderr, "meaning: a callback is already registered")

	h.golden("callback/get.txt", h.ok("callback", "get"))
	h.golden("callback/get.json", h.ok("callback", "get", "--json"))
	for _, s := range []string{testCallbackToken, testCallbackAESKey} {
		assert.NotContains(t, h.ok("callback", "get", "--json"), s, "a secret is never printed")
	}

	// A configuration whose token differs is told so.
	h.env["DINGTALK_CALLBACK_TOKEN"] = "rotatedtoken42"
	out = h.ok("callback", "get")
	assert.Contains(t, out, "DIFFERS from DINGTALK_CALLBACK_TOKEN")
	// update rotates to the configured token, keeping URL and events;
	// the fake's check_url now fails, as the receiver still has the old
	// token.
	r = h.run("callback", "update")
	assert.Equal(t, ExitDingTalk, r.code, r.stderr)
	h.env["DINGTALK_CALLBACK_TOKEN"] = testCallbackToken

	out = h.ok("callback", "update", "--tags", "user_add_org,bpms_instance_change")
	assert.Equal(t, "Updated: "+url+" for 2 events: user_add_org, bpms_instance_change\n", out)
	reg, _ = h.fake.CallbackRegistration()
	assert.Equal(t, []string{"user_add_org", "bpms_instance_change"}, reg.Tags)
	assert.Equal(t, url, reg.URL)

	// delete needs confirmation: refused without a terminal or --yes,
	// refused when the answer is no, done when it is yes.
	r = h.run("callback", "delete")
	assert.Equal(t, ExitGuard, r.code)
	assert.Contains(t, r.stderr, "Pass --yes")
	h.interactive, h.stdin = true, "n\n"
	r = h.run("callback", "delete")
	assert.Equal(t, ExitGuard, r.code)
	assert.Contains(t, r.stderr, "Delete the callback "+url+" (2 events)? [y/N]")
	_, ok = h.fake.CallbackRegistration()
	require.True(t, ok, "still registered after a refusal")
	h.stdin = "y\n"
	assert.Equal(t, "Deleted the callback "+url+".\n", h.ok("callback", "delete"))
	_, ok = h.fake.CallbackRegistration()
	require.False(t, ok)
	h.interactive = false

	require.Equal(t, ExitOK, h.run("callback", "register", "--url", url, "--tags", "user_add_org").code)
	out = h.ok("callback", "delete", "--yes", "--json")
	assert.JSONEq(t, `{"deleted":true,"url":"`+url+`"}`, out)
}

func TestCallbackRegisterChecksTheURLFirst(t *testing.T) {
	h := newHarness(t, onEmulator)
	for _, bad := range []string{"fn.example.com/callback", "ftp://fn.example.com/callback", "https://"} {
		r := h.run("callback", "register", "--url", bad)
		assert.Equal(t, ExitUsage, r.code, bad)
		assert.Contains(t, r.stderr, "absolute http(s) URL")
	}
	assert.Zero(t, h.fake.CallCount("call_back/register_call_back"), "nothing reached DingTalk")
}

// callback failed drains DingTalk's queue of failed pushes, 200 at a time,
// and prints them in time order.
func TestCallbackFailed(t *testing.T) {
	h := newHarness(t, onEmulator)
	assert.Equal(t, "No failed pushes.\n", h.ok("callback", "failed"))

	at := time.Date(2026, 2, 28, 9, 30, 0, 0, time.UTC)
	h.fake.AddFailedEvent("user_leave_org", at.Add(time.Minute), map[string]any{"userid": []string{"zhengshi"}})
	h.fake.AddFailedEvent("user_add_org", at, map[string]any{"userid": []string{"wangwu", "chenjing"}})
	h.fake.AddFailedEvent("bpms_instance_change", at.Add(2*time.Minute), map[string]any{"bpmsCallBackData": map[string]any{"processInstanceId": "proc-1", "result": "agree"}})
	h.golden("callback/failed.txt", h.ok("callback", "failed"))
	assert.Zero(t, h.fake.FailedEventCount(), "fetched pushes leave DingTalk's queue")

	for i := range 250 {
		h.fake.AddFailedEvent("user_add_org", at.Add(time.Duration(i)*time.Second), map[string]any{"userid": []string{"u" + strings.Repeat("0", 3)}})
	}
	h.fake.ResetCalls()
	var got struct {
		Failed []failedPush `json:"failed"`
	}
	require.NoError(t, json.Unmarshal([]byte(h.ok("callback", "failed", "--json")), &got))
	require.Len(t, got.Failed, 250, "both batches")
	assert.Equal(t, at, got.Failed[0].EventTime)
	assert.JSONEq(t, `{"corpid":"`+h.fake.CorpID()+`","userid":["u000"]}`, string(got.Failed[0].Data))
	assert.Equal(t, 2, h.fake.CallCount("call_back/get_call_back_failed_result"))

	h.fake.AddFailedEvent("user_add_org", at, map[string]any{"userid": []string{"wangwu"}})
	h.golden("callback/failed.json", h.ok("callback", "failed", "--json"))

	// On a terminal a long payload is cut to keep one row per push.
	long := make([]string, 40)
	for i := range long {
		long[i] = "user" + strings.Repeat("x", 4)
	}
	h.fake.AddFailedEvent("user_add_org", at, map[string]any{"userid": long})
	h.terminal = true
	out := h.ok("callback", "failed")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 4, "header, one row, the note")
	assert.True(t, strings.HasSuffix(lines[1], "…"), lines[1])
	assert.Less(t, len([]rune(lines[1])), 140)
}
