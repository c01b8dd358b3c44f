package config

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dingfn/dingfn/shared/directory"
)

// testAESKey is a made-up key of the right shape, not a real one.
const testAESKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func full() map[string]string {
	return map[string]string{
		"DINGTALK_APP_KEY":          "dingappkey",
		"DINGTALK_APP_SECRET":       "test-secret",
		"DINGTALK_AGENT_ID":         "12345",
		"DINGTALK_CORP_ID":          "dingcorp",
		"DINGTALK_CALLBACK_TOKEN":   "tok123",
		"DINGTALK_CALLBACK_AES_KEY": testAESKey,
		"NOTIFY_API_KEYS":           "0123456789abcdef0123,fedcba9876543210fedc",
	}
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(Callback, env(full()))
	require.NoError(t, err)
	assert.Equal(t, "dingappkey", c.CallbackOwnerKey, "owner key defaults to the app key")
	assert.Equal(t, "https://oapi.dingtalk.com", c.OAPIURL)
	assert.Equal(t, "https://api.dingtalk.com", c.APIURL)
	assert.Equal(t, StoreBolt, c.Store.Kind)
	assert.Equal(t, DefaultBoltPath, c.Store.Path)
	assert.Equal(t, "dingfn_", c.Store.TablePrefix)
	assert.Equal(t, 9000, c.Port)
	assert.Equal(t, int64(12345), c.AgentID)
	assert.Equal(t, []string{"0123456789abcdef0123", "fedcba9876543210fedc"}, c.NotifyAPIKeys)
	assert.Equal(t, directory.DefaultInterval, c.SyncInterval)
	assert.Equal(t, directory.DefaultDeleteLimit, c.SyncMaxDelete)
}

func TestSyncSettings(t *testing.T) {
	m := full()
	m["DINGFN_SYNC_INTERVAL"] = "1s"
	m["DINGFN_SYNC_MAX_DELETE"] = "500"
	c, err := Load(Sync, env(m))
	require.NoError(t, err)
	assert.Equal(t, time.Second, c.SyncInterval, "any positive interval is honoured")
	assert.Equal(t, directory.DeleteLimit{Count: 500}, c.SyncMaxDelete)
	m["DINGFN_SYNC_MAX_DELETE"] = "2.5%"
	c, err = Load(Sync, env(m))
	require.NoError(t, err)
	assert.Equal(t, directory.DeleteLimit{Percent: 2.5}, c.SyncMaxDelete)
}

func TestLoadRequiredPerFunction(t *testing.T) {
	for _, fn := range Functions() {
		for _, v := range Vars() {
			if !v.Needs(fn) {
				continue
			}
			t.Run(string(fn)+"/"+v.Name, func(t *testing.T) {
				m := full()
				delete(m, v.Name)
				_, err := Load(fn, env(m))
				var ce *Error
				require.ErrorAs(t, err, &ce)
				assert.Contains(t, err.Error(), v.Name)
				assert.Contains(t, err.Error(), string(fn))
			})
		}
	}
}

func TestLoadOnlyWhatIsNeeded(t *testing.T) {
	// token-refresher needs only the app credentials.
	_, err := Load(TokenRefresher, env(map[string]string{"DINGTALK_APP_KEY": "k", "DINGTALK_APP_SECRET": "s"}))
	require.NoError(t, err)
}

func TestLoadMalformed(t *testing.T) {
	tests := []struct {
		name, key, value, want string
	}{
		{"short aes key", "DINGTALK_CALLBACK_AES_KEY", "abc", "43"},
		{"aes key with symbol", "DINGTALK_CALLBACK_AES_KEY", strings.Repeat("a", 42) + "+", "43"},
		{"agent id text", "DINGTALK_AGENT_ID", "abc", "positive integer"},
		{"agent id negative", "DINGTALK_AGENT_ID", "-3", "positive integer"},
		{"oapi url scheme", "DINGTALK_OAPI_URL", "ftp://x", "http(s)"},
		{"api url relative", "DINGTALK_API_URL", "/v1.0", "http(s)"},
		{"store kind", "DINGFN_STORE", "redis", "tablestore, bolt:PATH or memory"},
		{"table prefix", "DINGFN_TABLE_PREFIX", "my-prefix", "letters, digits"},
		{"port", "PORT", "70000", "1-65535"},
		{"notify key empty", "NOTIFY_API_KEYS", "0123456789abcdef0123,,", "empty key"},
		{"notify key short", "NOTIFY_API_KEYS", "short", "shorter than 16"},
		{"token whitespace", "DINGTALK_CALLBACK_TOKEN", "a b", "white space"},
		{"sync interval unit", "DINGFN_SYNC_INTERVAL", "30", "Go duration"},
		{"sync interval zero", "DINGFN_SYNC_INTERVAL", "0s", "positive"},
		{"sync interval negative", "DINGFN_SYNC_INTERVAL", "-5m", "positive"},
		{"max delete text", "DINGFN_SYNC_MAX_DELETE", "many", "record count"},
		{"max delete percent", "DINGFN_SYNC_MAX_DELETE", "150%", "share of the mirror"},
		{"notify names repeated", "NOTIFY_API_KEYS", "crm=0123456789abcdef0123,crm=fedcba9876543210fedc", "same name at entries 1 and 2"},
		{"notify named key short", "NOTIFY_API_KEYS", "crm=short", "shorter than 16"},
		{"notify key repeated", "NOTIFY_API_KEYS", "a=0123456789abcdef0123,b=0123456789abcdef0123", "same key"},
		{"host with a port", "DINGFN_HOST", "0.0.0.0:9000", "without a port"},
		{"host with a scheme", "DINGFN_HOST", "http://x", "without a port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := full()
			m[tt.key] = tt.value
			_, err := Load(Dev, env(m))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.key)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "test-secret", "errors never echo secrets")
		})
	}
}

func TestNotifyKeysNamed(t *testing.T) {
	m := full()
	m["NOTIFY_API_KEYS"] = "billing=0123456789abcdef0123, fedcba9876543210fedc"
	c, err := Load(Notify, env(m))
	require.NoError(t, err)
	assert.Equal(t, []string{"billing=0123456789abcdef0123", "fedcba9876543210fedc"}, c.NotifyAPIKeys)
	require.Equal(t, 2, c.NotifyKeys.Len())
	assert.Equal(t, "billing", c.NotifyKeys.Names()[0])
	assert.Regexp(t, `^key-[0-9a-f]{8}$`, c.NotifyKeys.Names()[1], "a bare key is logged as its fingerprint")
	s := c.LogValue().String()
	assert.Contains(t, s, "billing")
	assert.NotContains(t, s, "0123456789abcdef0123")
}

func TestHost(t *testing.T) {
	for in, want := range map[string]string{"": "127.0.0.1", "0.0.0.0": "0.0.0.0", "::": "::", "localhost": "localhost", " 192.168.1.5 ": "192.168.1.5"} {
		m := full()
		m["DINGFN_HOST"] = in
		c, err := Load(Callback, env(m))
		require.NoError(t, err, in)
		assert.Equal(t, want, c.Host, in)
	}
}

func TestLoadCollectsAllProblems(t *testing.T) {
	_, err := Load(Callback, env(map[string]string{}))
	var ce *Error
	require.ErrorAs(t, err, &ce)
	var names []string
	for _, p := range ce.Problems {
		names = append(names, p.Var)
	}
	assert.ElementsMatch(t, []string{"DINGTALK_APP_KEY", "DINGTALK_APP_SECRET", "DINGTALK_CORP_ID", "DINGTALK_CALLBACK_TOKEN", "DINGTALK_CALLBACK_AES_KEY"}, names)
}

func TestStoreSelection(t *testing.T) {
	tests := []struct {
		name  string
		set   map[string]string
		kind  StoreKind
		path  string
		fails []string
	}{
		{name: "memory", set: map[string]string{"DINGFN_STORE": "memory"}, kind: StoreMemory},
		{name: "bolt path", set: map[string]string{"DINGFN_STORE": "bolt:/tmp/x.db"}, kind: StoreBolt, path: "/tmp/x.db"},
		{name: "endpoint implies tablestore", set: map[string]string{
			"TABLESTORE_ENDPOINT": "https://i.cn-hangzhou.ots.aliyuncs.com", "TABLESTORE_INSTANCE": "i",
			"ALIBABA_CLOUD_ACCESS_KEY_ID": "id", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "sec",
		}, kind: StoreTablestore},
		{name: "tablestore without credentials", set: map[string]string{"DINGFN_STORE": "tablestore"},
			fails: []string{"TABLESTORE_ENDPOINT", "TABLESTORE_INSTANCE", "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := full()
			for k, v := range tt.set {
				m[k] = v
			}
			c, err := Load(Sync, env(m))
			if len(tt.fails) > 0 {
				require.Error(t, err)
				for _, f := range tt.fails {
					assert.Contains(t, err.Error(), f)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.kind, c.Store.Kind)
			assert.Equal(t, tt.path, c.Store.Path)
		})
	}
}

func TestUnknownFunction(t *testing.T) {
	_, err := Load("billing", env(full()))
	assert.True(t, errors.Is(err, ErrUnknownFunction))
}

func TestLogValueHidesSecrets(t *testing.T) {
	m := full()
	c, err := Load(Dev, env(m))
	require.NoError(t, err)
	s := c.LogValue().String()
	for _, secret := range []string{m["DINGTALK_APP_SECRET"], m["DINGTALK_CALLBACK_TOKEN"], testAESKey, "0123456789abcdef0123"} {
		assert.NotContains(t, s, secret)
	}
	assert.Contains(t, s, "dingappkey")
}

func TestEveryVarIsDocumented(t *testing.T) {
	for _, v := range Vars() {
		assert.NotEmpty(t, v.Doc, v.Name)
		for _, fn := range v.NeededBy {
			assert.Contains(t, v.UsedBy, fn, "%s: a function that needs a variable also uses it", v.Name)
		}
	}
}

// A command of the operator command line needs only its own variables, and
// a missing one is named with the command that needs it.
func TestLoadFor(t *testing.T) {
	needs := []string{"DINGTALK_APP_KEY", "DINGTALK_APP_SECRET", "DINGTALK_CALLBACK_TOKEN"}
	c, err := LoadFor("dingfn callback register", needs, env(map[string]string{
		"DINGTALK_APP_KEY": "k", "DINGTALK_APP_SECRET": "s", "DINGTALK_CALLBACK_TOKEN": "tok123",
	}))
	require.NoError(t, err, "NOTIFY_API_KEYS, the corp id and the agent id are not needed")
	assert.Equal(t, Function("dingfn callback register"), c.Function)

	_, err = LoadFor("dingfn callback register", needs, env(map[string]string{"DINGTALK_APP_KEY": "k", "DINGTALK_APP_SECRET": "s"}))
	var ce *Error
	require.ErrorAs(t, err, &ce)
	require.Len(t, ce.Problems, 1)
	assert.Equal(t, "DINGTALK_CALLBACK_TOKEN", ce.Problems[0].Var)
	assert.Contains(t, ce.Problems[0].Reason, "dingfn callback register needs")

	// Malformed values are still problems, needed or not.
	_, err = LoadFor("dingfn token status", []string{"DINGTALK_APP_KEY"}, env(map[string]string{"DINGTALK_APP_KEY": "k", "DINGTALK_AGENT_ID": "x"}))
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "DINGTALK_AGENT_ID", ce.Problems[0].Var)

	_, err = LoadFor("dingfn x", []string{"NOT_A_VARIABLE"}, env(nil))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "NOT_A_VARIABLE")
}

func TestEventVariables(t *testing.T) {
	c, err := Load(Callback, env(full()))
	require.NoError(t, err)
	assert.Equal(t, 5*time.Minute, c.CallbackMaxSkew, "the timestamp window is on by default")
	assert.Equal(t, 30*24*time.Hour, c.EventRetention)
	assert.Equal(t, 8, c.EventMaxAttempts)
	assert.Empty(t, c.ForwardRules)
	assert.Equal(t, 15*time.Minute, c.EventRecoverEvery)
	assert.False(t, c.RecoversFailedPushes(), "a console subscription (owner key = app key) has no failed pushes to fetch")

	m := full()
	m["DINGFN_CALLBACK_MAX_SKEW"] = "0"
	m["DINGFN_EVENT_RETENTION"] = "7d"
	m["DINGFN_EVENT_MAX_ATTEMPTS"] = "3"
	m["DINGFN_FORWARD_URLS"] = "user_*=https://hooks.example.com/x/SECRETPATH, *=http://127.0.0.1:8080/all"
	m["DINGFN_FORWARD_SECRET"] = "forward-secret-0123456789"
	m["DINGTALK_CALLBACK_OWNER_KEY"] = "dingcorp"
	m["DINGFN_EVENT_RECOVER_EVERY"] = "1h"
	c, err = Load(Sync, env(m))
	require.NoError(t, err)
	assert.Zero(t, c.CallbackMaxSkew)
	assert.Equal(t, 7*24*time.Hour, c.EventRetention)
	assert.Equal(t, 3, c.EventMaxAttempts)
	assert.Equal(t, time.Hour, c.EventRecoverEvery)
	assert.True(t, c.RecoversFailedPushes(), "register_call_back (owner key = corp id)")
	require.Len(t, c.ForwardRules, 2)
	assert.Equal(t, "user_*", c.ForwardRules[0].Pattern)
	logged := fmt.Sprint(c.LogValue())
	assert.NotContains(t, logged, "SECRETPATH")
	assert.NotContains(t, logged, "forward-secret-0123456789")
}

func TestEventVariablesMalformed(t *testing.T) {
	for _, tt := range []struct {
		name string
		set  map[string]string
		key  string
		want string
	}{
		{"skew text", map[string]string{"DINGFN_CALLBACK_MAX_SKEW": "soon"}, "DINGFN_CALLBACK_MAX_SKEW", "Go duration"},
		{"skew negative", map[string]string{"DINGFN_CALLBACK_MAX_SKEW": "-1m"}, "DINGFN_CALLBACK_MAX_SKEW", "Go duration"},
		{"retention short", map[string]string{"DINGFN_EVENT_RETENTION": "10m"}, "DINGFN_EVENT_RETENTION", "at least 1h"},
		{"retention text", map[string]string{"DINGFN_EVENT_RETENTION": "a month"}, "DINGFN_EVENT_RETENTION", "days (30d)"},
		{"retention inside the window", map[string]string{"DINGFN_EVENT_RETENTION": "2h", "DINGFN_CALLBACK_MAX_SKEW": "3h"}, "DINGFN_EVENT_RETENTION", "longer than DINGFN_CALLBACK_MAX_SKEW"},
		{"attempts zero", map[string]string{"DINGFN_EVENT_MAX_ATTEMPTS": "0"}, "DINGFN_EVENT_MAX_ATTEMPTS", "1 to 100"},
		{"recovery every second", map[string]string{"DINGFN_EVENT_RECOVER_EVERY": "1s"}, "DINGFN_EVENT_RECOVER_EVERY", "at least 1m"},
		{"forward http", map[string]string{"DINGFN_FORWARD_URLS": "*=http://hooks.example.com/SECRETPATH", "DINGFN_FORWARD_SECRET": "forward-secret-0123456789"}, "DINGFN_FORWARD_URLS", "loopback"},
		{"forward no secret", map[string]string{"DINGFN_FORWARD_URLS": "*=https://hooks.example.com/SECRETPATH"}, "DINGFN_FORWARD_SECRET", "is not set"},
		{"forward short secret", map[string]string{"DINGFN_FORWARD_URLS": "*=https://hooks.example.com/SECRETPATH", "DINGFN_FORWARD_SECRET": "SHORTSECRET"}, "DINGFN_FORWARD_SECRET", "at least 16"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := full()
			maps.Copy(m, tt.set)
			_, err := Load(Dev, env(m))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.key)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "SECRETPATH", "errors never echo the forwarding URLs")
			assert.NotContains(t, err.Error(), "SHORTSECRET")
		})
	}
}
func TestRobots(t *testing.T) {
	m := full()
	m["DINGFN_ROBOTS"] = "ops=robot-token-value-1:SECrobot-secret-value, alerts=robot-token-value-2"
	c, err := Load(Notify, env(m))
	require.NoError(t, err)
	assert.Equal(t, []string{"ops", "alerts"}, c.Robots.Names())
	s := c.LogValue().String()
	assert.Contains(t, s, "alerts")
	for _, secret := range []string{"robot-token-value-1", "SECrobot-secret-value", "robot-token-value-2"} {
		assert.NotContains(t, s, secret, "robots are logged by name only")
	}
	m["DINGFN_ROBOTS"] = "ops=robot-token-value-1,ops=robot-token-value-2,Bad=robot-token-value-3"
	_, err = Load(Notify, env(m))
	var ce *Error
	require.ErrorAs(t, err, &ce)
	assert.Contains(t, err.Error(), "DINGFN_ROBOTS")
	assert.NotContains(t, err.Error(), "robot-token-value", "errors never echo a robot's token")
	delete(m, "DINGFN_ROBOTS")
	c, err = Load(Notify, env(m))
	require.NoError(t, err)
	assert.Zero(t, c.Robots.Len(), "robots are optional")
}

func TestRedisStore(t *testing.T) {
	const pw = "made-up-redis-password"
	t.Run("URL", func(t *testing.T) {
		m := full()
		m["DINGFN_STORE"] = "rediss://dingfn@r-bp1.redis.rds.aliyuncs.com:6380/2"
		m["DINGFN_REDIS_PASSWORD"] = pw
		c, err := Load(Sync, env(m))
		require.NoError(t, err)
		assert.Equal(t, StoreRedis, c.Store.Kind)
		assert.Equal(t, m["DINGFN_STORE"], c.Store.URL)
		assert.Equal(t, pw, c.Store.RedisPassword)
		assert.NotContains(t, c.LogValue().String(), pw)
	})
	t.Run("password ignored for other stores", func(t *testing.T) {
		m := full()
		m["DINGFN_STORE"] = "memory"
		m["DINGFN_REDIS_PASSWORD"] = pw
		c, err := Load(Sync, env(m))
		require.NoError(t, err)
		assert.Empty(t, c.Store.RedisPassword)
	})
	for _, tt := range []struct{ name, url, password, want string }{
		{"bad port", "redis://:" + pw + "@host:99999/0", "", "port"},
		{"bad database", "redis://:" + pw + "@host:6379/first", "", "database"},
		{"unknown option", "redis://:" + pw + "@host:6379/0?colour=blue", "", "colour"},
		{"two passwords", "redis://:" + pw + "@host:6379/0", pw + "-2", "DINGFN_REDIS_PASSWORD"},
		{"malformed", "redis://:" + pw + "@ho st:6379/0", "", "malformed"},
		{"not a URL", "redis:" + pw, "", "tablestore, bolt:PATH or memory"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := full()
			m["DINGFN_STORE"] = tt.url
			m["DINGFN_REDIS_PASSWORD"] = tt.password
			_, err := Load(Sync, env(m))
			var ce *Error
			require.ErrorAs(t, err, &ce)
			require.Len(t, ce.Problems, 1)
			assert.Equal(t, "DINGFN_STORE", ce.Problems[0].Var)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), pw, "errors never echo the password")
		})
	}
}

// The lists the package hands out are copies: a caller changing them
// changes neither the contract nor what the next caller sees.
func TestListsAreCopies(t *testing.T) {
	t.Parallel()
	fns := Functions()
	fns[0] = "changed"
	if Functions()[0] != Callback {
		t.Errorf("Functions()[0]: got %q after a caller changed its copy, want %q", Functions()[0], Callback)
	}
	vs := Vars()
	vs[0].Name = "CHANGED"
	vs[0].NeededBy[0] = "changed"
	vs[0].UsedBy[0] = "changed"
	again := Vars()
	if again[0].Name == "CHANGED" || again[0].NeededBy[0] == "changed" || again[0].UsedBy[0] == "changed" {
		t.Errorf("Vars()[0] after a caller changed its copy: got %+v, want the contract unchanged", again[0])
	}
	if !again[0].Needs(Callback) {
		t.Errorf("%s no longer needed by callback after a caller changed its copy", again[0].Name)
	}
}

func TestRobotCode(t *testing.T) {
	m := full()
	c, err := Load(Notify, env(m))
	require.NoError(t, err)
	assert.Equal(t, "dingappkey", c.RobotCode, "the robot code defaults to the app key")
	m["DINGTALK_ROBOT_CODE"] = "dingrobotcode01"
	c, err = Load(Notify, env(m))
	require.NoError(t, err)
	assert.Equal(t, "dingrobotcode01", c.RobotCode)
	m["DINGTALK_ROBOT_CODE"] = "two codes,here"
	_, err = Load(Notify, env(m))
	var ce *Error
	require.ErrorAs(t, err, &ce)
	assert.Contains(t, err.Error(), "DINGTALK_ROBOT_CODE")
}
