package cli

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dingfn/dingfn/shared/bundle"
	"github.com/dingfn/dingfn/shared/config"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/functions"
	"github.com/dingfn/dingfn/shared/notify"
)

// Made-up robot credentials and notify key of the right shape.
const (
	testRobotToken  = "clitestrobottoken0123456789"
	testRobotSecret = "SECclitestrobotsecret0123456789"
	testNotifyKey   = "clitest-notify-key-0123456789abcdef"
)

func newNotifyHarness(t *testing.T) *harness {
	h := newHarness(t, onEmulator, dingtalktest.WithRobot(testRobotToken, dingtalktest.RobotConfig{Secret: testRobotSecret}))
	h.env["DINGFN_ROBOTS"] = "ops=" + testRobotToken + ":" + testRobotSecret
	h.env["NOTIFY_API_KEYS"] = "ops=" + testNotifyKey
	return h
}

// deployNotify serves the real notify function on h's configuration, as
// a deployment would.
func deployNotify(t *testing.T, h *harness) string {
	t.Helper()
	cfg, err := config.Load(config.Notify, func(k string) string { return h.env[k] })
	require.NoError(t, err)
	b, err := bundle.Open(context.Background(), cfg, nil)
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	handler, err := functions.Notify(b)
	require.NoError(t, err)
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return srv.URL
}

func decodeAnswer[T any](t *testing.T, out string) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal([]byte(out), &v), out)
	return v
}

// send, notices status and notices recall, from this process and through
// a deployed notify, reach DingTalk alike.
func TestSendAndFollowANotice(t *testing.T) {
	h := newNotifyHarness(t)
	api := deployNotify(t, h)
	for _, mode := range []struct {
		name  string
		extra []string
	}{{"local", nil}, {"api", []string{"--api", api}}} {
		t.Run(mode.name, func(t *testing.T) {
			before := len(h.fake.NoticesDeliveredTo("wangwu"))
			text := "发布完成 " + mode.name
			ans := decodeAnswer[notify.NoticeAnswer](t, h.ok(append([]string{"send", "--to", "wangwu,lisi", "--text", text}, mode.extra...)...))
			require.NotEmpty(t, ans.ID)
			assert.Equal(t, notify.StatusSent, ans.Status)
			got := h.fake.NoticesDeliveredTo("wangwu")
			require.Len(t, got, before+1)
			assert.Contains(t, string(got[len(got)-1].Msg), text)

			st := decodeAnswer[notify.NoticeStatus](t, h.ok(append([]string{"notices", "status", ans.ID, "--json"}, mode.extra...)...))
			assert.Equal(t, ans.ID, st.ID)
			assert.Equal(t, 1, st.Progress.Sent)
			out := h.ok(append([]string{"notices", "status", ans.ID}, mode.extra...)...)
			assert.Regexp(t, `Parts:\s+1: 1 sent`, out)

			r := h.run(append([]string{"notices", "recall", ans.ID}, mode.extra...)...)
			assert.Equal(t, ExitGuard, r.code, "recall needs --yes without a terminal")
			res := decodeAnswer[notify.RecallResult](t, h.ok(append([]string{"notices", "recall", ans.ID, "--yes", "--json"}, mode.extra...)...))
			assert.Equal(t, notify.StatusRecalled, res.Status)
			assert.Equal(t, ans.TaskIDs, res.RecalledTaskIDs)

			r = h.run(append([]string{"notices", "status", "ntc_nonexistent"}, mode.extra...)...)
			assert.Equal(t, ExitNotFound, r.code, r.stderr)
		})
	}
}

func TestSendMessages(t *testing.T) {
	h := newNotifyHarness(t)
	dir := t.TempDir()
	md := filepath.Join(dir, "notes.md")
	require.NoError(t, os.WriteFile(md, []byte("# 发布说明 3.2\n\n- 新的通讯录同步\n"), 0o600))
	card := filepath.Join(dir, "card.json")
	require.NoError(t, os.WriteFile(card, []byte(`{"msgtype":"link","link":{"messageUrl":"https://example.com/r/1","picUrl":"@lADOADmaWMzazQKA","title":"周报","text":"本周进展"}}`), 0o600))
	first := decodeAnswer[notify.NoticeAnswer](t, h.ok("send", "--to", "zhangsan", "--json", card, "--idempotency-key", "weekly-09"))
	again := decodeAnswer[notify.NoticeAnswer](t, h.ok("send", "--to", "zhangsan", "--json", card, "--idempotency-key", "weekly-09"))
	assert.Equal(t, first.ID, again.ID, "the same key answers the first send")
	assert.Len(t, h.fake.NoticesDeliveredTo("zhangsan"), 1, "and sends nothing again")

	// Bad input is refused before DingTalk, naming what to fix.
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"msgtype":"link","link":{"title":"x","text":"y"}}`), 0o600))
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no recipients", []string{"send", "--text", "hi"}, "--to USERIDS, --dept IDS or --all"},
		{"two messages", []string{"send", "--to", "lisi", "--text", "hi", "--markdown", md}, "exactly one of"},
		{"no message", []string{"send", "--to", "lisi"}, "exactly one of"},
		{"not a message", []string{"send", "--to", "lisi", "--json", md}, "not a message object"},
		{"message DingTalk refuses", []string{"send", "--to", "lisi", "--json", bad}, "msg.link.messageUrl"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := h.run(tt.args...)
			assert.Equal(t, ExitUsage, r.code, r.stderr)
			assert.Contains(t, r.stderr, tt.want)
		})
	}
	assert.Empty(t, h.fake.NoticesDeliveredTo("lisi"))

	// A terminal gets a summary instead of JSON.
	h.terminal = true
	out := h.ok("send", "--to", "lisi", "--text", "终端")
	assert.Regexp(t, `Status:\s+sent`, out)
	assert.Contains(t, out, "Follow it with: dingfn notices status ")

	// A department reaches its members; the markdown's first line is its
	// title. It takes the minute's recipient budget (a department part is
	// charged DingTalk's cap), so the next notice waits for the sync tick.
	h = newNotifyHarness(t)
	h.ok("send", "--dept", "3", "--markdown", md)
	got := h.fake.NoticesDeliveredTo("chenjing")
	require.Len(t, got, 1)
	assert.Equal(t, "markdown", got[0].MsgType)
	assert.Contains(t, string(got[0].Msg), `"title":"发布说明 3.2"`)
	h.terminal = true
	out = h.ok("send", "--to", "huangli", "--text", "稍后")
	assert.Regexp(t, `Status:\s+scheduled`, out)
	assert.Regexp(t, `scheduled\s+.*1 people`, out)
}

func TestRobotSend(t *testing.T) {
	h := newNotifyHarness(t)
	api := deployNotify(t, h)
	ans := decodeAnswer[notify.RobotAnswer](t, h.ok("robot", "send", "ops", "--text", "部署完成", "--at", "wangwu"))
	assert.Equal(t, "ops", ans.Robot)
	msgs := h.fake.RobotMessages(testRobotToken)
	require.Len(t, msgs, 1)
	assert.Contains(t, string(msgs[0].Body), `"atUserIds":["wangwu"]`)

	h.stdin = "## 日报\n\n一切正常"
	h.ok("robot", "send", "ops", "--markdown", "-", "--api", api, "--idempotency-key", "daily-report-1")
	h.ok("robot", "send", "ops", "--markdown", "-", "--api", api, "--idempotency-key", "daily-report-1")
	msgs = h.fake.RobotMessages(testRobotToken)
	require.Len(t, msgs, 2, "the repeated key sent nothing")
	assert.Equal(t, "markdown", msgs[1].MsgType)
	assert.Contains(t, string(msgs[1].Body), `"title":"日报"`)

	r := h.run("robot", "send", "marketing", "--text", "x")
	assert.Equal(t, ExitNotFound, r.code, r.stderr)
	assert.NotContains(t, r.stderr, testRobotToken)
}

// --api authenticates with NOTIFY_API_KEYS; a key the deployment does not
// accept is a configuration error, and no key is ever printed.
func TestNotifyAPIKeys(t *testing.T) {
	h := newNotifyHarness(t)
	api := deployNotify(t, h)
	r := h.run("send", "--to", "wangwu", "--text", "x", "--api", api, "--key-name", "dev")
	assert.Equal(t, ExitConfig, r.code)
	assert.Contains(t, r.stderr, `NOTIFY_API_KEYS has no entry named "dev"`)

	h.env["NOTIFY_API_KEYS"] = "ops=" + strings.Repeat("z", 32)
	r = h.run("notices", "status", "ntc_x", "--api", api)
	assert.Equal(t, ExitConfig, r.code, r.stderr)
	assert.Contains(t, r.stderr, "notify refused the key")
	assert.NotContains(t, r.stderr, strings.Repeat("z", 32))

	delete(h.env, "NOTIFY_API_KEYS")
	r = h.run("notices", "status", "ntc_x", "--api", api)
	assert.Equal(t, ExitConfig, r.code)
	assert.Contains(t, r.stderr, "NOTIFY_API_KEYS is not set (dingfn notices status needs")

	r = h.run("notices", "status", "ntc_x", "--api", "notify.example.com")
	assert.Equal(t, ExitUsage, r.code)
	r = h.run("notices", "status", "ntc_x", "--key-name", "ops")
	assert.Equal(t, ExitUsage, r.code)
}
