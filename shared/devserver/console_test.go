package devserver

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dingfn/dingfn/shared/console"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/functions"
)

// `dingfn console` against a configured (here: fake) DingTalk shows the
// mirror and sends notices, without the simulator's views or buttons.
func TestConsoleAgainstConfiguredDingTalk(t *testing.T) {
	fake := dingtalktest.NewServer(dingtalktest.WithDemoOrg())
	t.Cleanup(fake.Close)
	env := map[string]string{
		"DINGTALK_APP_KEY": fake.AppKey(), "DINGTALK_APP_SECRET": fake.AppSecret(), "DINGTALK_CORP_ID": fake.CorpID(),
		"DINGTALK_AGENT_ID": strconv.FormatInt(fake.AgentID(), 10), "DINGTALK_OAPI_URL": fake.URL, "DINGTALK_API_URL": fake.URL,
		"DINGFN_STORE": "bolt:" + filepath.Join(t.TempDir(), "console.db"),
	}
	var out strings.Builder
	s, err := StartConsole(context.Background(), Options{Addr: "127.0.0.1:0", Getenv: func(k string) string { return env[k] },
		Out: &out, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	assert.Contains(t, out.String(), s.URL+"/")
	assert.NotContains(t, out.String(), fake.AppSecret())

	// The sync function fills the mirror the console reads.
	tick, err := functions.Sync(s.Bundle)
	require.NoError(t, err)
	_, err = tick(context.Background())
	require.NoError(t, err)

	get := func(path string, v any) int {
		t.Helper()
		resp, err := http.Get(s.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		if v != nil {
			require.NoError(t, json.Unmarshal(b, v), "%s", b)
		}
		return resp.StatusCode
	}
	var ov console.Overview
	require.Equal(t, http.StatusOK, get("/console/api/overview", &ov))
	assert.Equal(t, "dingtalk", ov.Mode)
	assert.True(t, ov.CanSend)
	assert.NotContains(t, ov.Panels, console.TopicSimulator)
	assert.NotContains(t, ov.Panels, console.TopicRobots)
	var org console.OrgView
	require.Equal(t, http.StatusOK, get("/console/api/org", &org))
	assert.Equal(t, 12, org.Users)
	assert.Equal(t, http.StatusNotFound, get("/console/api/org?source=simulator", nil))
	assert.Equal(t, http.StatusOK, get("/", nil))

	post := func(path, body string) (int, map[string]any) {
		t.Helper()
		resp, err := http.Post(s.URL+path, "application/json", strings.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		var m map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
		return resp.StatusCode, m
	}
	code, m := post("/console/api/simulator/add-user", `{"name":"甲","dept_id":3}`)
	assert.Equal(t, http.StatusNotImplemented, code, "%v", m)
	code, m = post("/console/api/notices", `{"userids":["lisi"],"msgtype":"text","content":"来自控制台"}`)
	assert.Equal(t, http.StatusAccepted, code, "%v", m)
	assert.Len(t, fake.NoticesDeliveredTo("lisi"), 1)
}
