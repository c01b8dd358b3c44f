package devserver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dingfn/dingfn/shared/chatbot"
	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/events"
	"github.com/dingfn/dingfn/shared/functions"
)

func start(t *testing.T) (*Server, *bytes.Buffer) {
	t.Helper()
	dir := t.TempDir()
	env := map[string]string{"DINGFN_STORE": "bolt:" + filepath.Join(dir, "dev.db")}
	var out bytes.Buffer
	s, err := Start(context.Background(), Options{
		Addr:         "127.0.0.1:0",
		Getenv:       func(k string) string { return env[k] },
		Out:          &out,
		Logger:       slog.New(slog.DiscardHandler),
		SyncEvery:    -1,
		RefreshEvery: -1,
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s, &out
}

func post(t *testing.T, url, body string, header ...string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json"), resp.Header.Get("Content-Type"))
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m), "body %s", b)
	return resp.StatusCode, m
}

func TestSimulatedSession(t *testing.T) {
	s, out := start(t)
	require.NotNil(t, s.Fake, "no DINGTALK_APP_KEY: the simulated DingTalk is used")
	assert.Contains(t, out.String(), s.URL+"/callback")
	assert.Contains(t, out.String(), "SIMULATED")

	t.Run("token-refresher on demand", func(t *testing.T) {
		code, rep := post(t, s.URL+"/timers/token-refresher", "")
		require.Equal(t, http.StatusOK, code, "report %v", rep)
		assert.Equal(t, true, rep["ok"])
		before := s.Fake.TokenIssues()
		code, _ = post(t, s.URL+"/timers/token-refresher", "")
		require.Equal(t, http.StatusOK, code)
		assert.Equal(t, before, s.Fake.TokenIssues(), "a second tick within validity asks DingTalk for nothing")
		assert.NotContains(t, out.String(), s.Fake.AccessToken(), "the banner never shows a token")
	})

	t.Run("push through the simulator", func(t *testing.T) {
		code, m := post(t, s.URL+"/simulator/push", `{"EventType":"check_url"}`)
		assert.Equal(t, http.StatusOK, code, "%v", m)
		code, m = post(t, s.URL+"/simulator/push", `{"EventType":"user_add_org","UserId":["wangwu"],"CorpId":"`+s.Fake.CorpID()+`"}`)
		assert.Equal(t, http.StatusOK, code, "%v", m)
		code, m = post(t, s.URL+"/simulator/push", `not json`)
		assert.Equal(t, http.StatusBadRequest, code, "%v", m)
	})

	t.Run("organisation changes reach the callback", func(t *testing.T) {
		require.NoError(t, s.Fake.RenameUser("wangwu", "王五五"))
		require.NoError(t, s.Fake.MoveUser("chenjing", 3))
		errs, err := s.Fake.FlushEvents(context.Background())
		require.NoError(t, err)
		assert.Empty(t, errs, "every automatic event was answered with an encrypted success")
		assert.Zero(t, s.Fake.FailedEventCount())
	})

	t.Run("callback rejects an unsigned request", func(t *testing.T) {
		code, m := post(t, s.URL+"/callback?signature=00&timestamp=1&nonce=n", `{"encrypt":"abc"}`)
		assert.GreaterOrEqual(t, code, 400)
		assert.Less(t, code, 500)
		assert.NotEmpty(t, m["error"])
	})

	t.Run("notify sends a work notice through the simulator", func(t *testing.T) {
		code, m := post(t, s.URL+"/notify/v1/notices", `{"userids":["lisi"],"msg":{"msgtype":"text","text":{"content":"你好"}}}`, "Authorization", "Bearer "+s.NotifyAPIKey)
		require.Equal(t, http.StatusAccepted, code, "%v", m)
		assert.Equal(t, "sent", m["status"])
		assert.Len(t, s.Fake.NoticesDeliveredTo("lisi"), 1)
		code, m = post(t, s.URL+"/notify/v1/notices", `{}`, "Authorization", "Bearer "+s.NotifyAPIKey)
		assert.Equal(t, http.StatusBadRequest, code)
		assert.Equal(t, "invalid_message", m["error"])
	})

	t.Run("sync on demand mirrors the simulated organisation", func(t *testing.T) {
		code, rep := post(t, s.URL+"/timers/sync", "")
		require.Equal(t, http.StatusOK, code, "report %v", rep)
		assert.Equal(t, true, rep["ok"])
		steps, _ := rep["steps"].([]any)
		require.Len(t, steps, 4, "the directory walk, the notices step, the event drain and purge (no recovery: a console subscription)")
		for i, name := range []string{"events-drain", "events-purge"} {
			ev, _ := steps[2+i].(map[string]any)
			assert.Equal(t, name, ev["step"])
			assert.Equal(t, true, ev["ok"])
		}
		step, _ := steps[0].(map[string]any)
		assert.Equal(t, "directory", step["step"])
		assert.Equal(t, true, step["complete"])
		notices, _ := steps[1].(map[string]any)
		assert.Equal(t, "notices", notices["step"])
		assert.Equal(t, true, notices["ok"])
		u, err := directory.NewReader(s.Bundle.Store).User(context.Background(), "wangwu")
		require.NoError(t, err)
		assert.Equal(t, "王五五", u.Name, "the rename made earlier in this session")
	})

	t.Run("the simulator posts a robot message and shows the reply", func(t *testing.T) {
		// The mirror was filled by the sync above; the who-is robot of a
		// simulated session answers from it, in the HTTP answer.
		code, m := post(t, s.URL+"/simulator/robot", `{"text":"谁是 李四","group":true,"from":"wangwu"}`)
		require.Equal(t, http.StatusOK, code, "%v", m)
		reply, _ := m["reply"].(map[string]any)
		require.Equal(t, "markdown", reply["msgtype"], "%v", m)
		md, _ := reply["markdown"].(map[string]any)
		assert.Contains(t, md["text"], "**李四**")
		assert.Contains(t, md["text"], "@wangwu", "in a group the answer @-mentions the asker")
		id, _ := m["msg_id"].(string)
		require.NotEmpty(t, id)
		assert.Empty(t, m["session_replies"])
		// DingTalk delivering it again: acknowledged, not answered twice.
		code, m = post(t, s.URL+"/simulator/robot", `{"text":"谁是 李四","group":true,"from":"wangwu","msg_id":"`+id+`"}`)
		require.Equal(t, http.StatusOK, code, "%v", m)
		reply, _ = m["reply"].(map[string]any)
		assert.Equal(t, "empty", reply["msgtype"])
		code, m = post(t, s.URL+"/simulator/robot", `{"group":true}`)
		assert.Equal(t, http.StatusBadRequest, code)
		assert.Equal(t, "text", m["field"])
		code, m = post(t, s.URL+"/callback/robot", `{"msgtype":"text"}`)
		assert.Equal(t, http.StatusUnauthorized, code, "an unsigned robot message: %v", m)
		assert.Equal(t, "missing_signature", m["error"])
	})

	t.Run("notify sends as the app robot into the simulated group", func(t *testing.T) {
		code, m := post(t, s.URL+"/notify/v1/robot/messages", `{"open_conversation_id":"`+s.ChatGroup+`","msg":{"msgKey":"sampleText","msgParam":{"content":"今晚维护"}}}`,
			"Authorization", "Bearer "+s.NotifyAPIKey)
		require.Equal(t, http.StatusAccepted, code, "%v", m)
		assert.Equal(t, "sent", m["status"])
		sends := s.Fake.ChatbotSends()
		require.NotEmpty(t, sends)
		assert.Equal(t, s.ChatGroup, sends[len(sends)-1].ConversationID)
	})

	t.Run("notify checks its key first", func(t *testing.T) {
		code, m := post(t, s.URL+"/notify/v1/notices", `{}`)
		assert.Equal(t, http.StatusUnauthorized, code)
		assert.Equal(t, "unauthorized", m["error"])
		code, _ = post(t, s.URL+"/notify/v1/notices", `{}`, "Authorization", "Bearer wrong-key-0123456789abcdef")
		assert.Equal(t, http.StatusUnauthorized, code)
	})

	t.Run("wrong method on a known route is 405 with Allow", func(t *testing.T) {
		tests := []struct{ method, path, allow string }{
			{http.MethodGet, "/timers/sync", "POST"},
			{http.MethodGet, "/timers/token-refresher", "POST"},
			{http.MethodGet, "/simulator/push", "POST"},
			{http.MethodGet, "/simulator/robot", "POST"},
			{http.MethodDelete, "/timers/sync", "POST"},
			{http.MethodPost, "/healthz", "GET, HEAD"},
		}
		for _, tt := range tests {
			req, err := http.NewRequest(tt.method, s.URL+tt.path, nil)
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			var m map[string]any
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
			resp.Body.Close()
			assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, "%s %s", tt.method, tt.path)
			assert.Equal(t, tt.allow, resp.Header.Get("Allow"), "%s %s", tt.method, tt.path)
			assert.Equal(t, "method_not_allowed", m["error"], "%s %s", tt.method, tt.path)
		}
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			req, err := http.NewRequest(method, s.URL+"/healthz", nil)
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode, method)
		}
	})

	t.Run("unknown path", func(t *testing.T) {
		code, m := post(t, s.URL+"/nope", "")
		assert.Equal(t, http.StatusNotFound, code)
		assert.Contains(t, m["message"], "/nope")
	})
}

func TestRealModeNeedsConfiguration(t *testing.T) {
	env := map[string]string{"DINGTALK_APP_KEY": "dingrealapp", "DINGFN_STORE": "memory"}
	_, err := Start(context.Background(), Options{Addr: "127.0.0.1:0", Getenv: func(k string) string { return env[k] }})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "DINGTALK_APP_SECRET", "the message names the missing variable")
	assert.Contains(t, err.Error(), "dev")
}

// TestEventsDrainedAtOnce: in `dingfn dev` an event the callback leaves
// unfinished (here a handler slower than the callback's budget) is
// drained right away, not at the next sync tick, and runs through the
// handlers given in Options.
func TestEventsDrainedAtOnce(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"DINGFN_STORE": "bolt:" + filepath.Join(dir, "dev.db")}
	calls := make(chan int32, 4)
	var n atomic.Int32
	s, err := Start(context.Background(), Options{
		Addr: "127.0.0.1:0", Getenv: func(k string) string { return env[k] }, Logger: slog.New(slog.DiscardHandler),
		SyncEvery: -1, RefreshEvery: -1,
		EventHandlers: func(m *events.Mux) {
			m.HandleFunc("user_add_org", func(ctx context.Context, ev *events.Event) error {
				k := n.Add(1)
				calls <- k
				if k == 1 {
					<-ctx.Done() // slower than the callback's budget
					return ctx.Err()
				}
				return nil
			})
		},
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	code, m := post(t, s.URL+"/simulator/push", `{"EventType":"user_add_org","UserId":["wangwu"],"TimeStamp":1772442000000,"CorpId":"`+s.Fake.CorpID()+`"}`)
	require.Equal(t, http.StatusOK, code, "%v", m)
	for want := int32(1); want <= 2; want++ {
		select {
		case got := <-calls:
			require.Equal(t, want, got)
		case <-time.After(10 * time.Second):
			t.Fatalf("handler call %d never came: the unfinished event was not drained at once", want)
		}
	}
	ev, err := events.NewEvent([]byte(`{"EventType":"user_add_org","UserId":["wangwu"],"TimeStamp":1772442000000,"CorpId":"`+s.Fake.CorpID()+`"}`), events.SourcePush, time.Now())
	require.NoError(t, err)
	// Drains hold the drain's lease: this one starts once the immediate
	// one is over.
	log, err := functions.Events(s.Bundle, nil)
	require.NoError(t, err)
	require.NoError(t, log.DrainNow(context.Background()))
	e, err := log.Get(context.Background(), ev.ID)
	require.NoError(t, err)
	assert.Equal(t, events.StatusDone, e.Status)
	assert.Equal(t, 2, e.Attempts)
}

// TestChatRepliesDrainedAtOnce: in `dingfn dev` a chat handler slower than
// the request is finished by the immediate drain, whose reply goes
// through the message's session webhook.
func TestChatRepliesDrainedAtOnce(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"DINGFN_STORE": "bolt:" + filepath.Join(dir, "dev.db")}
	replied := make(chan error, 1)
	var n atomic.Int32
	s, err := Start(context.Background(), Options{
		Addr: "127.0.0.1:0", Getenv: func(k string) string { return env[k] }, Logger: slog.New(slog.DiscardHandler),
		SyncEvery: -1, RefreshEvery: -1,
		EventHandlers: func(m *events.Mux) {
			chatbot.HandleFunc(m, "slow", func(ctx context.Context, msg *chatbot.Message, reply chatbot.ReplyFunc) error {
				if n.Add(1) == 1 {
					<-ctx.Done() // slower than the request may take
					return ctx.Err()
				}
				err := reply(ctx, dingtalk.RobotText("慢慢来："+msg.PlainText()))
				replied <- err
				return err
			})
		},
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	code, m := post(t, s.URL+"/simulator/robot", `{"text":"查一下"}`)
	require.Equal(t, http.StatusOK, code, "%v", m)
	reply, _ := m["reply"].(map[string]any)
	assert.Equal(t, "empty", reply["msgtype"], "nothing in time for the HTTP answer")
	select {
	case err := <-replied:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the drain never answered the message")
	}
	var texts []string
	for _, r := range s.Fake.SessionReplies() {
		texts = append(texts, r.Text())
	}
	assert.Contains(t, texts, "慢慢来：查一下")
}

// A connection that never sends a request (a browser's preconnect) must not
// hold up an interrupted `dingfn dev`: net/http's Shutdown alone waits five
// seconds for it and then reports a failed shutdown.
func TestCloseWithASilentConnection(t *testing.T) {
	env := map[string]string{"DINGFN_STORE": "memory"}
	s, err := Start(context.Background(), Options{
		Addr:         "127.0.0.1:0",
		Getenv:       func(k string) string { return env[k] },
		Out:          io.Discard,
		Logger:       slog.New(slog.DiscardHandler),
		SyncEvery:    -1,
		RefreshEvery: -1,
	})
	require.NoError(t, err)
	silent, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	require.NoError(t, err)
	defer silent.Close()
	// The server accepts connections in order, so once a later request is
	// answered the silent one has been accepted too.
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(s.URL + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.NoError(t, s.Close(), "closing with a connection that never sent a request")
}
