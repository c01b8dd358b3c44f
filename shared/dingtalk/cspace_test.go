package dingtalk

import (
	"context"
	"net/http"
	"testing"
)

func TestGetCustomSpace(t *testing.T) {
	t.Parallel()
	for _, reply := range []string{`{"errcode":0,"spaceid":"12345"}`, `{"errcode":0,"spaceid":12345}`} {
		e := setup(t)
		e.handle(t, http.MethodGet, "/cspace/get_custom_space", func(r *http.Request) {
			testOAPIToken(t, r)
			testQuery(t, r, map[string][]string{"domain": {"dingfn"}, "agent_id": {"88"}})
		}, reply)
		id, err := e.client.CSpace.GetCustomSpace(context.Background(), "dingfn", 88)
		if err != nil || id != "12345" {
			t.Errorf("reply %s: GetCustomSpace = %q, %v", reply, id, err)
		}
	}
	e := setup(t)
	if _, err := e.client.CSpace.GetCustomSpace(context.Background(), "bad-domain!", 0); err == nil {
		t.Error("bad domain accepted")
	}
}
