package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCall(t *testing.T) {
	h := newHarness(t, onEmulator)
	h.golden("call/dept-get.json", h.ok("call", "topapi/v2/department/get", "dept_id:=3"))

	// A legacy name, key=value strings and key:=json values, the same
	// with --json (the reply is JSON either way).
	out := h.ok("call", "dingtalk.corp.role.list", "size:=20", "offset:=0", "--json")
	var roles struct {
		ErrCode int `json:"errcode"`
		Result  struct {
			List []json.RawMessage `json:"list"`
		} `json:"result"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &roles))
	assert.NotEmpty(t, roles.Result.List)

	out = h.ok("call", "/topapi/v2/user/get", "userid=chenjing")
	assert.Contains(t, out, `"name": "陈静"`)

	// --data from a file and from stdin; pairs win over it.
	dir := t.TempDir()
	file := filepath.Join(dir, "params.json")
	require.NoError(t, os.WriteFile(file, []byte(`{"userid":"zhangsan","language":"zh_CN"}`), 0o600))
	out = h.ok("call", "topapi/v2/user/get", "--data", "@"+file, "userid=wangwu")
	assert.Contains(t, out, `"name": "王五"`)
	h.stdin = `{"dept_id": 4}`
	out = h.ok("call", "topapi/v2/department/get", "-d", "@-")
	assert.Contains(t, out, `"name": "前端组"`)

	// A path the registry does not know needs --http and --generation;
	// the fake answers an unknown topapi path with errcode 22.
	r := h.run("call", "topapi/blackboard/listtopten", "userid=zhangsan")
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, "--http GET|POST and --generation oapi|api")
	r = h.run("call", "topapi/blackboard/listtopten", "--http", "POST", "--generation", "oapi", "userid=zhangsan")
	assert.Equal(t, ExitDingTalk, r.code, r.stderr)
	assert.Contains(t, r.stderr, "errcode 22")
	assert.Contains(t, r.stderr, "meaning: DingTalk does not know this API")
	assert.Equal(t, 1, h.fake.CallCount("topapi/blackboard/listtopten"))

	// DingTalk's own errors keep their errcode and meaning.
	r = h.run("call", "topapi/v2/department/get", "dept_id:=999")
	assert.Equal(t, ExitDingTalk, r.code)
	assert.Contains(t, r.stderr, "errcode 60003")
	assert.Contains(t, r.stderr, "meaning: the department does not exist")
}

func TestCallParams(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		pairs   []string
		want    string
		wantErr string
	}{
		{name: "strings", pairs: []string{"userid=0123", "name=a=b"}, want: `{"name":"a=b","userid":"0123"}`},
		{name: "json values", pairs: []string{"dept_id:=1", "ids:=[1,2]", "flag:=true", "obj:={\"a\":1}"}, want: `{"dept_id":1,"flag":true,"ids":[1,2],"obj":{"a":1}}`},
		{name: "big number kept", pairs: []string{"id:=12345678901234567890"}, want: `{"id":12345678901234567890}`},
		{name: "data then pairs", data: `{"a":1,"b":2}`, pairs: []string{"b=x"}, want: `{"a":1,"b":"x"}`},
		{name: "no equals", pairs: []string{"userid"}, wantErr: "key=value or key:=json"},
		{name: "empty key", pairs: []string{"=x"}, wantErr: "key=value"},
		{name: "bad json value", pairs: []string{"n:=1x"}, wantErr: "not one JSON value"},
		{name: "two json values", pairs: []string{"n:=1 2"}, wantErr: "not one JSON value"},
		{name: "data not an object", data: `[1]`, wantErr: "JSON object"},
		{name: "data null", data: `null`, wantErr: "JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := callParams(strings.NewReader(""), tt.data, tt.pairs)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			b, _ := json.Marshal(got)
			assert.JSONEq(t, tt.want, string(b))
		})
	}
}

func TestCallList(t *testing.T) {
	h := newHarness(t, onMemory)
	out := h.ok("call", "--list")
	assert.Contains(t, out, "NAME")
	assert.Regexp(t, `corp\.ext\.listlabelgroups\s+POST\s+oapi\s+/topapi/extcontact/listlabelgroups`, out)
	var list struct {
		Methods []struct {
			Name string `json:"name"`
			Path string `json:"path"`
		} `json:"methods"`
	}
	require.NoError(t, json.Unmarshal([]byte(h.ok("call", "--list", "--json")), &list))
	assert.Greater(t, len(list.Methods), 40)
	h.golden("call/list.txt", out)
}
