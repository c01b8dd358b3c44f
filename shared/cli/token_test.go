package cli

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/record"
	"github.com/dingfn/dingfn/shared/token"
)

// seedTokens stores an access token with 1h40m left and a ticket about to
// expire, fetched by two processes, as the functions would have.
func seedTokens(t *testing.T, h *harness) {
	t.Helper()
	st := h.store()
	defer st.Close()
	appKey := h.fake.AppKey()
	put := func(e token.Entry) {
		// Never expiring in the store: the rows are read on testNow's
		// clock, not the machine's.
		_, err := record.Put(context.Background(), st, token.DefaultTable, token.Key(e.Kind, appKey), e, store.Always, time.Time{})
		require.NoError(t, err)
	}
	put(token.Entry{Kind: token.AccessToken, AppKey: appKey, Value: "seeded-access-token-value",
		FetchedAt: testNow.Add(-20 * time.Minute), ExpiresAt: testNow.Add(100 * time.Minute), FetchedBy: "fc-instance-7/1/0a1b2c3d4e5f"})
	put(token.Entry{Kind: token.JSAPITicket, AppKey: appKey, Value: "seeded-jsapi-ticket-value",
		FetchedAt: testNow.Add(-117 * time.Minute), ExpiresAt: testNow.Add(3 * time.Minute), FetchedBy: "laptop/4242/abcdef012345",
		IssuedAt: testNow.Add(-5 * time.Hour), HardExpiresAt: testNow.Add(19 * time.Hour)})
}

func TestTokenStatus(t *testing.T) {
	for _, kind := range []storeKind{onEmulator, onBolt} {
		t.Run(string(kind), func(t *testing.T) {
			h := newHarness(t, kind)
			r := h.run("token", "status")
			assert.Equal(t, ExitFailure, r.code, "nothing stored is unhealthy")
			h.golden("token/status-empty-"+string(kind)+".txt", r.stdout)
			assert.Contains(t, r.stderr, "dingfn token refresh")

			seedTokens(t, h)
			out := h.ok("token", "status")
			h.golden("token/status-"+string(kind)+".txt", out)
			js := h.ok("token", "status", "--json")
			h.golden("token/status-"+string(kind)+".json", js)
			for _, secret := range []string{"seeded-access-token-value", "seeded-jsapi-ticket-value"} {
				assert.NotContains(t, out+js, secret)
			}
			assert.Zero(t, h.fake.TokenIssues(), "status never calls DingTalk")

			h.now = testNow.Add(4 * time.Minute)
			r = h.run("token", "status")
			assert.Equal(t, ExitFailure, r.code, "an expired ticket is unhealthy")
			assert.Contains(t, r.stdout, "jsapi_ticket  expired")
		})
	}
}

// token refresh is one refresher tick: it fetches what is missing, keeps
// what is valid, and the next status sees the values it stored.
func TestTokenRefresh(t *testing.T) {
	for _, kind := range []storeKind{onEmulator, onBolt, onMemory} {
		t.Run(string(kind), func(t *testing.T) {
			h := newHarness(t, kind)
			h.now = time.Now()
			var rep token.Report
			require.NoError(t, json.Unmarshal([]byte(h.ok("token", "refresh", "--json")), &rep))
			require.True(t, rep.OK)
			require.Len(t, rep.Apps, 1)
			app := rep.Apps[0]
			assert.Equal(t, h.fake.AppKey(), app.AppKey)
			assert.True(t, app.AccessToken.Refreshed)
			assert.True(t, app.JSAPITicket.Refreshed)
			assert.InDelta(t, 2*3600, app.AccessToken.ExpiresInSeconds, 60)
			assert.Equal(t, 1, h.fake.TokenIssues())

			out := h.ok("token", "refresh")
			if kind == onMemory {
				// Each run has its own memory store.
				assert.Contains(t, out, "access_token  yes")
				return
			}
			assert.Contains(t, out, "access_token  no (still valid)")
			assert.Contains(t, out, "jsapi_ticket  no (still valid)")
			assert.Equal(t, 1, h.fake.TokenIssues(), "a valid token is not fetched again")

			out = h.ok("token", "status")
			assert.Contains(t, out, "access_token  ok")
			assert.Contains(t, out, "jsapi_ticket  ok")
		})
	}
}

// A failed refresh reports DingTalk's error with its meaning and exit 4.
func TestTokenRefreshFails(t *testing.T) {
	h := newHarness(t, onEmulator)
	h.env["DINGTALK_APP_SECRET"] = "not-the-secret"
	r := h.run("token", "refresh")
	assert.Equal(t, ExitDingTalk, r.code, r.stderr)
	assert.Contains(t, r.stdout, "access_token  FAILED")
	assert.Contains(t, r.stderr, "meaning: the app key or secret is not valid")
	assert.NotContains(t, r.stderr, "not-the-secret")
}
