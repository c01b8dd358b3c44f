package chatbot_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dingfn/dingfn/shared/chatbot"
	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/events"
	"github.com/dingfn/dingfn/shared/platform"
	"github.com/dingfn/dingfn/shared/store"
)

// TestThroughPlatformAdapters: a robot message reaches the callback
// function's /robot path through Function Compute's HTTP trigger and a
// Lambda Function URL (recorded events under testdata/platform, with the
// signature headers and body filled in), and is answered in the body;
// the same function sends every other path to the event push.
func TestThroughPlatformAdapters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(m *events.Mux, _ store.Store) { echo(m) }, envOption{})
	robot, err := chatbot.NewHandler(e.fake.AppSecret(), e.log, chatbot.WithClock(e.clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	pushed := 0
	push := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { pushed++; w.Write([]byte(`{"push":true}`)) })
	h := chatbot.Route(push, robot)
	for _, tt := range []struct {
		file  string
		serve func(context.Context, http.Handler, []byte) ([]byte, error)
		b64   bool
	}{
		{"fc-robot-post.json", platform.ServeFCHTTPEvent, false},
		{"lambda-url-robot-post.json", platform.ServeLambdaHTTPEvent, true},
	} {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", "platform", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var ev map[string]any
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			payload, err := e.fake.ChatbotMessage(dingtalktest.ChatMessage{From: e.from, Text: "ping via " + tt.file})
			if err != nil {
				t.Fatal(err)
			}
			hdr := ev["headers"].(map[string]any)
			for k, v := range e.fake.ChatbotHeaders() {
				for name := range hdr {
					if strings.EqualFold(name, k) {
						hdr[name] = v[0]
					}
				}
			}
			if tt.b64 {
				ev["body"] = base64.StdEncoding.EncodeToString(payload)
			} else {
				ev["body"] = string(payload)
			}
			in, _ := json.Marshal(ev)
			out, err := tt.serve(context.Background(), h, in)
			if err != nil {
				t.Fatal(err)
			}
			var res struct {
				StatusCode      int    `json:"statusCode"`
				Body            string `json:"body"`
				IsBase64Encoded bool   `json:"isBase64Encoded"`
			}
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatal(err)
			}
			body := []byte(res.Body)
			if res.IsBase64Encoded {
				body, _ = base64.StdEncoding.DecodeString(res.Body)
			}
			var reply dingtalk.RobotMessage
			if err := json.Unmarshal(body, &reply); err != nil || res.StatusCode != http.StatusOK || reply.Text == nil || reply.Text.Content != "你说：ping via "+tt.file {
				t.Errorf("answer %d %s", res.StatusCode, body)
			}

			// The same function, another path: the event push.
			ev["rawPath"] = "/"
			ev["requestContext"].(map[string]any)["http"].(map[string]any)["path"] = "/"
			in, _ = json.Marshal(ev)
			before := pushed
			if _, err := tt.serve(context.Background(), h, in); err != nil || pushed != before+1 {
				t.Errorf("path / did not reach the event push: %v", err)
			}
		})
	}
}
