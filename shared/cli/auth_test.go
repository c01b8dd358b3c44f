package cli

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dingfn/dingfn/shared/dingcrypto"
	"github.com/dingfn/dingfn/shared/token"
)

// jsapi sign produces a signature DingTalk's check accepts: the ticket the
// fake issued, the nonce and timestamp printed, the URL without its
// fragment.
func TestJSAPISign(t *testing.T) {
	h := newHarness(t, onEmulator)
	const page = "https://app.example.com/page?x=1#/home"
	for _, tt := range []struct {
		name string
		args []string
		sign func(ticket, nonce string, ts int64, url string) string
	}{
		{"sha1", nil, dingcrypto.JSAPISignature},
		{"sha256", []string{"--sha256"}, dingcrypto.JSAPISignatureSHA256},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var cfg token.JSAPIConfig
			out := h.ok(append([]string{"jsapi", "sign", page, "--json", "--jsapi", "biz.contact.choose,device.notification.alert"}, tt.args...)...)
			require.NoError(t, json.Unmarshal([]byte(out), &cfg))
			assert.Equal(t, h.fake.CorpID(), cfg.CorpID)
			assert.Equal(t, strconv.FormatInt(h.fake.AgentID(), 10), cfg.AgentID)
			assert.Equal(t, []string{"biz.contact.choose", "device.notification.alert"}, cfg.JSAPIList)
			assert.Len(t, cfg.NonceStr, 16)
			assert.Equal(t, tt.sign(h.fake.JSAPITicket(), cfg.NonceStr, cfg.TimeStamp, "https://app.example.com/page?x=1"), cfg.Signature)
			assert.NotContains(t, out, h.fake.JSAPITicket())
		})
	}
	out := h.ok("jsapi", "sign", page)
	for _, field := range []string{"agentId:", "corpId:", "timeStamp:", "nonceStr:", "signature:"} {
		assert.Contains(t, out, field)
	}

	r := h.run("jsapi", "sign", "app.example.com/page")
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, "absolute http(s) URL")

	delete(h.env, "DINGTALK_AGENT_ID")
	r = h.run("jsapi", "sign", page)
	assert.Equal(t, ExitConfig, r.code)
	assert.Contains(t, r.stderr, "DINGTALK_AGENT_ID is not set (dingfn jsapi sign needs")
}

func TestLogin(t *testing.T) {
	h := newHarness(t, onEmulator)
	h.golden("login/in_app.txt", h.ok("login", h.fake.NewAuthCode("zhangsan")))
	h.golden("login/in_app.json", h.ok("login", h.fake.NewAuthCode("wangwu"), "--json"))
	h.golden("login/scan.txt", h.ok("login", h.fake.NewLoginCode("chenjing"), "--kind", "scan"))
	h.golden("login/scan.json", h.ok("login", h.fake.NewLoginCode("chenjing"), "--kind", "scan", "--json"))

	code := h.fake.NewAuthCode("lisi")
	h.ok("login", code)
	r := h.run("login", code)
	assert.Equal(t, ExitDingTalk, r.code, "a code works once: %s", r.stderr)
	assert.Contains(t, r.stderr, "meaning: the login code is not valid")
}
