package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/console"
	"github.com/dingfn/dingfn/shared/devserver"
)

// A whole simulated session through the console's API: the stream sends
// every view at once and again after each change; the simulator's
// buttons change the simulated organisation and its approvals; the form
// sends a notice; and no response of the session — page, files, views,
// actions, stream — carries a credential.
func TestSessionViewsActionsAndNoSecrets(t *testing.T) {
	s := startDev(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var bodies [][]byte
	get := func(path string) []byte {
		t.Helper()
		code, b := do(t, http.MethodGet, s.URL+path, "")
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, code, b)
		}
		bodies = append(bodies, b)
		return b
	}
	post := func(path, body string, want int) map[string]any {
		t.Helper()
		code, m := postJSON(t, s.URL+path, body)
		if code != want {
			t.Fatalf("POST %s %s: %d %v, want %d", path, body, code, m, want)
		}
		b, _ := json.Marshal(m)
		bodies = append(bodies, b)
		return m
	}

	// The page and its files.
	page := get("/")
	for _, f := range []string{"/console/static/console.js", "/console/static/console.css"} {
		if !bytes.Contains(page, []byte(f)) {
			t.Errorf("the page does not load %s", f)
		}
		get(f)
	}

	// The refresher stores a token and a ticket; the first sync fills the
	// mirror.
	if code, b := do(t, http.MethodPost, s.URL+"/timers/token-refresher", ""); code != http.StatusOK {
		t.Fatalf("refresh: %d %s", code, b)
	}
	if code, b := do(t, http.MethodPost, s.URL+"/timers/sync", ""); code != http.StatusOK {
		t.Fatalf("sync: %d %s", code, b)
	}
	stream := openStream(t, s.URL)
	var ov console.Overview
	if err := json.Unmarshal(stream.until(t, ctx, "overview", func([]byte) bool { return true }), &ov); err != nil {
		t.Fatal(err)
	}
	if ov.Mode != "simulated" || !ov.CanSend || len(ov.Robots) != 1 || ov.Robots[0] != devserver.SimulatorRobot || ov.CorpName != "钉峰科技有限公司" {
		t.Errorf("overview %+v", ov)
	}
	mirror := stream.until(t, ctx, "org-mirror", func(b []byte) bool { return bytes.Contains(b, []byte("王五")) })
	var org console.OrgView
	if err := json.Unmarshal(mirror, &org); err != nil {
		t.Fatal(err)
	}
	if org.Users != 12 || org.Departments != 7 || len(org.Roots) != 1 || org.Roots[0].Name != "钉峰科技有限公司" || org.SyncedAt == nil {
		t.Errorf("mirror tree: %d users, %d departments, roots %+v", org.Users, org.Departments, org.Roots)
	}
	stream.until(t, ctx, "sync", func(b []byte) bool { return bytes.Contains(b, []byte(`"trigger":"timer"`)) })

	// Simulator buttons: each change shows in the simulated organisation.
	added := post("/console/api/simulator/add-user", `{"name":"测试员","dept_id":3,"title":"测试工程师"}`, http.StatusOK)
	uid, _ := added["userid"].(string)
	stream.until(t, ctx, "org-simulator", func(b []byte) bool { return bytes.Contains(b, []byte(`"userid":"`+uid+`","name":"测试员"`)) })
	// The push is logged, handled, and the person reaches the mirror.
	var ev console.EventView
	stream.until(t, ctx, "events", func(b []byte) bool {
		var v console.EventsView
		_ = json.Unmarshal(b, &v)
		for _, e := range v.Events {
			if e.Type == "user_add_org" && e.Status == "done" && e.Subject == uid {
				ev = e
				return true
			}
		}
		return false
	})
	if len(ev.Handlers) == 0 || ev.Handlers[0].Status != "done" || !bytes.Contains(ev.Payload, []byte(uid)) {
		t.Errorf("the event's handlers and payload: %+v", ev)
	}
	stream.until(t, ctx, "org-mirror", func(b []byte) bool { return bytes.Contains(b, []byte(`"userid":"`+uid+`","name":"测试员"`)) })
	replayed := post("/console/api/events/"+ev.ID+"/replay", `{}`, http.StatusAccepted)
	if e, _ := replayed["event"].(map[string]any); e["status"] != "pending" {
		t.Errorf("a replayed event is pending until it runs again: %v", replayed)
	}
	stream.until(t, ctx, "events", func(b []byte) bool {
		var v console.EventsView
		_ = json.Unmarshal(b, &v)
		for _, e := range v.Events {
			if e.ID == ev.ID {
				return e.Status == "done" && e.Attempts > ev.Attempts
			}
		}
		return false
	})
	post("/console/api/events/no-such-event/replay", `{}`, http.StatusNotFound)
	post("/console/api/simulator/move-user", `{"userid":"`+uid+`","dept_ids":[4]}`, http.StatusOK)
	post("/console/api/simulator/rename-department", `{"dept_id":4,"name":"前端与设计组"}`, http.StatusOK)
	stream.until(t, ctx, "org-simulator", func(b []byte) bool {
		var v console.OrgView
		_ = json.Unmarshal(b, &v)
		d := find(v.Roots, 4)
		return d != nil && d.Name == "前端与设计组" && hasMember(d, uid)
	})
	started := post("/console/api/simulator/start-approval", `{"userid":"wangwu"}`, http.StatusOK)
	inst, _ := started["instance_id"].(string)
	stream.until(t, ctx, "approvals", func(b []byte) bool { return bytes.Contains(b, []byte(`"id":"`+inst+`"`)) })
	post("/console/api/simulator/finish-approval", `{"instance_id":"`+inst+`","result":"agree"}`, http.StatusOK)
	stream.until(t, ctx, "approvals", func(b []byte) bool { return bytes.Contains(b, []byte(`"status":"COMPLETED","result":"agree"`)) })
	if ps := s.Fake.ProcessInstances(); len(ps) != 1 || ps[0].Approvers[0] != "lisi" {
		t.Errorf("the approval goes to the originator's manager: %+v", ps)
	}

	// The notice form.
	sent := post("/console/api/notices", `{"userids":["lisi"],"msgtype":"markdown","title":"周报","content":"### 本周\n- 控制台"}`, http.StatusAccepted)
	id, _ := sent["id"].(string)
	stream.until(t, ctx, "notices", func(b []byte) bool {
		return bytes.Contains(b, []byte(`"id":"`+id+`","status":"sent"`)) && bytes.Contains(b, []byte(`"caller":"console"`))
	})
	if got := s.Fake.NoticesDeliveredTo("lisi"); len(got) != 1 {
		t.Errorf("lisi got %d notices, want 1", len(got))
	}

	// A robot message through notify's API shows rendered.
	code, b := do(t, http.MethodPost, s.URL+"/notify/v1/robots/"+devserver.SimulatorRobot+"/messages",
		`{"msgtype":"markdown","markdown":{"title":"发布","text":"### v1.4 已上线\n- 修复 <script>alert(1)</script> [链接](javascript:alert(1))"}}`,
		"Authorization", "Bearer "+s.NotifyAPIKey)
	if code != http.StatusOK {
		t.Fatalf("robot message: %d %s", code, b)
	}
	robots := stream.until(t, ctx, "robots", func(b []byte) bool { return bytes.Contains(b, []byte("v1.4")) })
	var rv console.RobotsView
	if err := json.Unmarshal(robots, &rv); err != nil {
		t.Fatal(err)
	}
	if m := rv.Messages[0]; m.Robot != devserver.SimulatorRobot || m.Title != "发布" || !strings.Contains(m.HTML, "<h3>v1.4 已上线</h3>") ||
		strings.Contains(m.HTML, "<script") || strings.Contains(m.HTML, "javascript:") {
		t.Errorf("robot message rendered as %+v", m)
	}

	// The app robot: a message to it in the simulated group is answered
	// (the event log shows it, without its session webhook), and one sent
	// as it through notify shows among the robot messages.
	code, b = do(t, http.MethodPost, s.URL+"/simulator/robot", `{"text":"谁是 李四","group":true}`)
	if code != http.StatusOK || !bytes.Contains(b, []byte("**李四**")) {
		t.Fatalf("simulator robot message: %d %s", code, b)
	}
	evs := stream.until(t, ctx, "events", func(b []byte) bool { return bytes.Contains(b, []byte(`"chatbot_message"`)) })
	if bytes.Contains(evs, []byte("session=")) || !bytes.Contains(evs, []byte(`"sessionWebhook":"REDACTED"`)) {
		t.Errorf("the event log view shows the session webhook: %.600s", evs)
	}
	code, b = do(t, http.MethodPost, s.URL+"/notify/v1/robot/messages",
		`{"open_conversation_id":"`+s.ChatGroup+`","msg":{"msgKey":"sampleMarkdown","msgParam":{"title":"维护","text":"### 今晚 22:00"}}}`,
		"Authorization", "Bearer "+s.NotifyAPIKey)
	if code != http.StatusAccepted {
		t.Fatalf("app robot message: %d %s", code, b)
	}
	robots = stream.until(t, ctx, "robots", func(b []byte) bool { return bytes.Contains(b, []byte("22:00")) })
	rv = console.RobotsView{}
	if err := json.Unmarshal(robots, &rv); err != nil {
		t.Fatal(err)
	}
	if m := rv.Messages[0]; m.Robot != "app robot, in "+devserver.SimulatorGroup || m.Title != "维护" || !strings.Contains(m.HTML, "<h3>今晚 22:00</h3>") {
		t.Errorf("app robot message rendered as %+v", m)
	}

	// Token health: both credentials stored and fresh, with who fetched
	// them.
	var tv console.TokensView
	if err := json.Unmarshal(get("/console/api/tokens"), &tv); err != nil {
		t.Fatal(err)
	}
	if len(tv.Tokens) != 2 {
		t.Fatalf("tokens %+v", tv)
	}
	for _, tk := range tv.Tokens {
		if !tk.Stored || tk.Health != console.HealthOK || tk.FetchedBy == "" || tk.ExpiresInS <= 0 || tk.AgeS < 0 {
			t.Errorf("token %+v", tk)
		}
	}

	// Sync now: the tick's steps run under their leases and the stream
	// shows the console's tick.
	post("/console/api/sync", `{}`, http.StatusAccepted)
	stream.until(t, ctx, "sync", func(b []byte) bool {
		var v console.SyncView
		_ = json.Unmarshal(b, &v)
		return !v.Running && v.Last != nil && v.Last.Trigger == "console" && v.Last.OK && len(v.Last.Steps) > 0
	})

	// Every view once more by GET.
	for _, v := range []string{"overview", "org?source=mirror", "org?source=simulator", "events", "sync", "tokens", "notices", "robots", "approvals"} {
		get("/console/api/" + v)
	}

	// No credential anywhere.
	sec := secrets(t, s)
	bodies = append(bodies, stream.bytes())
	for i, b := range bodies {
		if names := leaked(b, sec); names != nil {
			t.Errorf("response %d carries the %v: %.300s", i, names, b)
		}
	}
}

func find(roots []*console.Dept, id int64) *console.Dept {
	for _, d := range roots {
		if d.ID == id {
			return d
		}
		if f := find(d.Children, id); f != nil {
			return f
		}
	}
	return nil
}

func hasMember(d *console.Dept, userid string) bool {
	for _, p := range d.Members {
		if p.UserID == userid {
			return true
		}
	}
	return false
}

// Bad requests get dingfn's JSON error naming the problem and change
// nothing.
func TestBadRequests(t *testing.T) {
	s := startDev(t)
	users := s.Fake.UserCount()
	cases := []struct {
		name, path, body string
		header           []string
		status           int
		code, field      string
	}{
		{"no name", "/console/api/simulator/add-user", `{"dept_id":3}`, nil, 400, "invalid_request", "name"},
		{"no department", "/console/api/simulator/add-user", `{"name":"甲"}`, nil, 400, "invalid_request", "dept_id"},
		{"unknown department", "/console/api/simulator/add-user", `{"name":"甲","dept_id":999}`, nil, 400, "simulator_refused", ""},
		{"unknown field", "/console/api/simulator/add-user", `{"name":"甲","dept_id":3,"salary":1}`, nil, 400, "invalid_body", "salary"},
		{"unknown action", "/console/api/simulator/fire-everyone", `{}`, nil, 404, "not_found", ""},
		{"unknown user", "/console/api/simulator/remove-user", `{"userid":"nobody"}`, nil, 400, "simulator_refused", ""},
		{"bad result", "/console/api/simulator/finish-approval", `{"instance_id":"x","result":"maybe"}`, nil, 400, "invalid_request", "result"},
		{"not JSON", "/console/api/simulator/add-user", `name=甲`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "unsupported_media_type", ""},
		{"another site", "/console/api/simulator/add-user", `{"name":"甲","dept_id":3}`, []string{"Content-Type", "application/json", "Origin", "https://evil.example"}, 403, "cross_origin", ""},
		{"bad msgtype", "/console/api/notices", `{"userids":["lisi"],"msgtype":"oa","content":"x"}`, nil, 400, "invalid_request", "msgtype"},
		{"no recipients", "/console/api/notices", `{"msgtype":"text","content":"x"}`, nil, 400, "invalid_request", ""},
		{"empty text", "/console/api/notices", `{"userids":["lisi"],"msgtype":"text","content":""}`, nil, 400, "invalid_message", "msg.text.content"},
		{"sync with a body", "/console/api/sync", `{"steps":["directory"]}`, nil, 400, "invalid_body", "steps"},
		{"replay with a bad body", "/console/api/events/x/replay", `{"all":"yes"}`, nil, 400, "invalid_body", "all"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hdr := c.header
			if hdr == nil {
				hdr = []string{"Content-Type", "application/json"}
			}
			code, b := do(t, http.MethodPost, s.URL+c.path, c.body, hdr...)
			var e struct{ Error, Message, Field string }
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatalf("%d %s: %v", code, b, err)
			}
			if code != c.status || e.Error != c.code || (c.field != "" && e.Field != c.field) || e.Message == "" {
				t.Errorf("got %d %s, want %d %s field %q", code, b, c.status, c.code, c.field)
			}
		})
	}
	if got := s.Fake.UserCount(); got != users {
		t.Errorf("%d users after refused requests, want %d", got, users)
	}
	if n := len(s.Fake.WorkNotices()); n != 0 {
		t.Errorf("%d notices sent by refused requests", n)
	}
	// A page whose name resolves here (DNS rebinding) gets nothing.
	for _, path := range []string{"/", "/console/api/org"} {
		req, err := http.NewRequest(http.MethodGet, s.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "rebind.example:9000"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s for host rebind.example: %d, want 403", path, resp.StatusCode)
		}
	}
	for _, path := range []string{"/console/api/org?source=elsewhere", "/console/api/nothing"} {
		code, b := do(t, http.MethodGet, s.URL+path, "")
		if code/100 != 4 || !bytes.Contains(b, []byte(`"message"`)) {
			t.Errorf("GET %s: %d %s, want a 4xx error body", path, code, b)
		}
	}
}
