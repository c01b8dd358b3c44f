package redisstore_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/redisstore"
	"github.com/dingfn/dingfn/shared/store/redisstore/redistest"
)

// testPassword is made up; the tests check it never appears in messages.
const testPassword = "pa55-w0rd-sentinel"

func TestParseURL(t *testing.T) {
	for _, c := range []struct {
		name, url, password string
		addr, user, pass    string
		db                  int
		tls                 bool
	}{
		{name: "host and port", url: "redis://10.0.0.5:6380", addr: "10.0.0.5:6380"},
		{name: "default port", url: "redis://r-bp1.redis.rds.aliyuncs.com/2", addr: "r-bp1.redis.rds.aliyuncs.com:6379", db: 2},
		{name: "password in the URL", url: "redis://:" + testPassword + "@h:1/0", addr: "h:1", pass: testPassword},
		{name: "ACL user and password", url: "redis://dingfn:" + testPassword + "@h:1/3", addr: "h:1", user: "dingfn", pass: testPassword, db: 3},
		{name: "password from the variable", url: "redis://dingfn@h:1/0", password: testPassword, addr: "h:1", user: "dingfn", pass: testPassword},
		{name: "TLS", url: "rediss://h.example.com:6380/1", addr: "h.example.com:6380", db: 1, tls: true},
		{name: "client option", url: "redis://h:1/0?dial_timeout=2s&pool_size=4", addr: "h:1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o, err := redisstore.ParseURL(c.url, c.password)
			require.NoError(t, err)
			assert.Equal(t, c.addr, o.Addr)
			assert.Equal(t, c.user, o.Username)
			assert.Equal(t, c.pass, o.Password)
			assert.Equal(t, c.db, o.DB)
			if assert.Equal(t, c.tls, o.TLSConfig != nil) && c.tls {
				assert.Equal(t, "h.example.com", o.TLSConfig.ServerName, "the certificate is checked against the host")
				assert.False(t, o.TLSConfig.InsecureSkipVerify)
			}
		})
	}
}

func TestParseURLRejects(t *testing.T) {
	for _, c := range []struct{ name, url, password, want string }{
		{"scheme", "http://:" + testPassword + "@h:1/0", "", "scheme"},
		{"unix socket", "unix:///tmp/redis.sock", "", "scheme"},
		{"no host", "redis://", "", "host"},
		{"no host name", "redis://:" + testPassword + "@:6379/0", "", "host"},
		{"port", "redis://:" + testPassword + "@h:99999/0", "", "port"},
		{"port text", "redis://:" + testPassword + "@h:port/0", "", "port"},
		{"database", "redis://:" + testPassword + "@h:1/zero", "", "database"},
		{"path", "redis://:" + testPassword + "@h:1/0/1", "", "path"},
		{"unknown option", "redis://:" + testPassword + "@h:1/0?colour=blue", "", "colour"},
		{"retries", "redis://:" + testPassword + "@h:1/0?max_retries=3", "", "max_retries"},
		{"password in the query", "redis://h:1/0?password=" + testPassword, "", "user info"},
		{"two passwords", "redis://:" + testPassword + "@h:1/0", "other-" + testPassword, "DINGFN_REDIS_PASSWORD"},
		{"malformed", "redis://:" + testPassword + "@h:1/0%zz", "", "malformed"},
		{"control character", "redis://:" + testPassword + "@h\x7f:1/0", "", "malformed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := redisstore.ParseURL(c.url, c.password)
			require.ErrorIs(t, err, store.ErrInvalid)
			assert.Contains(t, err.Error(), c.want)
			assert.NotContains(t, err.Error(), testPassword, "errors never echo the password")
		})
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"redis://:" + testPassword + "@h:1/0":        "redis://:xxxxx@h:1/0",
		"rediss://u:" + testPassword + "@h:1/0?a=b":  "rediss://u:xxxxx@h:1/0?a=b",
		"redis://u@h:1/0":                            "redis://u@h:1/0",
		"redis://:" + testPassword + "@h\x7f:1/0":    "redis://:xxxxx@h\x7f:1/0",
		"redis://u:p@ss:" + testPassword + "@h:1/0":  "redis://u:xxxxx@h:1/0",
		"redis://u:" + testPassword + "@h:1/0#frag@": "redis://u:xxxxx@h:1/0#frag@",
	} {
		got := redisstore.Redact(in)
		assert.Equal(t, want, got, in)
		assert.NotContains(t, got, testPassword)
	}
}

func openURL(t *testing.T, url, password string) (*redisstore.Store, error) {
	t.Helper()
	o, err := redisstore.ParseURL(url, password)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	s, err := redisstore.Open(ctx, o)
	if err == nil {
		t.Cleanup(func() { s.Close() })
	}
	return s, err
}

func TestOpenUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	_, err = openURL(t, "redis://:"+testPassword+"@"+addr+"/0", "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), addr, "the error names the server")
	assert.NotContains(t, err.Error(), testPassword)
}

func TestOpenAuthenticates(t *testing.T) {
	m := redistest.NewServer(t)
	m.RequireAuth(testPassword)
	_, err := openURL(t, "redis://"+m.Addr()+"/0", "")
	require.Error(t, err, "no password")
	_, err = openURL(t, "redis://:wrong-"+testPassword+"@"+m.Addr()+"/0", "")
	require.Error(t, err, "wrong password")
	assert.NotContains(t, err.Error(), testPassword)

	s, err := openURL(t, "redis://"+m.Addr()+"/0", testPassword)
	require.NoError(t, err, "password from DINGFN_REDIS_PASSWORD")
	_, err = s.Put(t.Context(), "t", store.Item{Key: "k"}, store.IfAbsent)
	require.NoError(t, err)
	_, err = openURL(t, "redis://:"+testPassword+"@"+m.Addr()+"/0", "")
	require.NoError(t, err, "password in the URL")

	acl := redistest.NewServer(t)
	acl.RequireUserAuth("dingfn", testPassword)
	_, err = openURL(t, "redis://dingfn@"+acl.Addr()+"/0", testPassword)
	require.NoError(t, err, "ACL user with the password from the variable")
}

// The database number in the URL selects the database.
func TestOpenSelectsDatabase(t *testing.T) {
	m := redistest.NewServer(t)
	s, err := openURL(t, "redis://"+m.Addr()+"/3", "")
	require.NoError(t, err)
	_, err = s.Put(t.Context(), "t", store.Item{Key: "k", Value: []byte("v")}, store.Always)
	require.NoError(t, err)
	m.Select(3)
	assert.True(t, m.Exists(s.RowKey("t", "k")))
	m.Select(0)
	assert.False(t, m.Exists(s.RowKey("t", "k")))
}

func TestOpenRejectsBadOptions(t *testing.T) {
	m := redistest.NewServer(t)
	o, err := redisstore.ParseURL("redis://"+m.Addr(), "")
	require.NoError(t, err)
	_, err = redisstore.Open(t.Context(), o, redisstore.WithTablePrefix("bad-prefix"))
	assert.ErrorIs(t, err, store.ErrInvalid)
	_, err = redisstore.Open(t.Context(), nil)
	assert.ErrorIs(t, err, store.ErrInvalid)
}
