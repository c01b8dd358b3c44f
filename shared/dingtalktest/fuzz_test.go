package dingtalktest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// FuzzRequests sends arbitrary bodies to every route: the fake must never
// panic and must always answer its generation's JSON error shape.
func FuzzRequests(f *testing.F) {
	s := NewServer(WithDemoOrg(), WithRobot("r", RobotConfig{}))
	defer s.Close()
	tok := s.AccessToken()
	var apis []string
	for api := range s.routes {
		// Registering a callback URL makes the fake call that URL: keep
		// fuzzed URLs off the network. Received files are served as a
		// storage host serves them (bytes, XML errors), not as an API.
		if !strings.HasPrefix(api, "call_back/register") && !strings.HasPrefix(api, "call_back/update") && api != chatFilePrefix {
			apis = append(apis, api)
		}
	}
	slices.Sort(apis)
	for i := range apis {
		f.Add(uint8(i), true, `{"dept_id":1,"userid":"lisi","cursor":0,"size":10}`)
		f.Add(uint8(i), false, `dept_id=1&userid=lisi&msg={"msgtype":"text"}`)
	}
	f.Add(uint8(0), true, `{"msg":"{\"msgtype\":\"text\",\"text\":{}}","agent_id":"x"}`)
	f.Add(uint8(3), true, `[1,2,3]`)
	f.Fuzz(func(t *testing.T, pick uint8, asJSON bool, body string) {
		api := apis[int(pick)%len(apis)]
		rt := s.routes[api]
		target := "/" + api + "?access_token=" + tok
		if api == "robot/send" {
			target = "/robot/send?access_token=r"
		}
		req := httptest.NewRequest(rt.methods[len(rt.methods)-1], target, strings.NewReader(body))
		if asJSON {
			req.Header.Set("Content-Type", "application/json")
		} else {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.Header.Set("x-acs-dingtalk-access-token", tok)
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, req)
		s.ResetCalls() // recorded calls would grow without bound
		if w.Code == http.StatusGatewayTimeout {
			return // getsendresult over 100 recipients
		}
		var m map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
			t.Fatalf("%s: non-JSON reply %d %q", api, w.Code, w.Body.String())
		}
		if rt.gen == genNew {
			if w.Code >= 400 && m["code"] == nil {
				t.Fatalf("%s: new-API error without code: %s", api, w.Body.String())
			}
		} else if _, ok := m["errcode"]; !ok {
			t.Fatalf("%s: old-API reply without errcode: %s", api, w.Body.String())
		}
	})
}
