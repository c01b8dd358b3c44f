// Package config reads dingfn's configuration from environment variables.
//
// The variable names are a public contract: the README documents them and
// s.yaml and template.yaml wire them. Load validates everything a function
// needs at start, so a deployment with a missing or malformed value fails
// at once with one message that names each variable and the function that
// needs it, instead of failing on the first DingTalk push.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dingfn/dingfn/shared/callback"
	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/events"
	"github.com/dingfn/dingfn/shared/httpapi"
	"github.com/dingfn/dingfn/shared/notify"
	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/backend"
)

// Function names one deployable function of the bundle.
type Function string

// The four functions of the bundle. Dev is the local all-in-one process run
// by `dingfn dev`, which needs the union of their settings.
const (
	Callback       Function = "callback"
	Notify         Function = "notify"
	Sync           Function = "sync"
	TokenRefresher Function = "token-refresher"
	Dev            Function = "dev"
)

// Functions returns the deployable functions in a stable order (a new
// slice each time: the list itself cannot be changed).
func Functions() []Function { return []Function{Callback, Notify, Sync, TokenRefresher} }

// Var describes one environment variable of the public contract.
type Var struct {
	Name string
	// NeededBy lists the functions that require the variable; empty means
	// it is optional everywhere.
	NeededBy []Function
	// UsedBy lists the functions that read the variable at all (required
	// or optional); deploy descriptors wire it for each of them.
	UsedBy []Function
	// Secret values are never logged and never inlined in descriptors.
	Secret  bool
	Default string
	Doc     string
}

var all = Functions()

// vars is the contract table; the README's configuration table mirrors it.
var vars = []Var{
	{Name: "DINGTALK_APP_KEY", NeededBy: all, UsedBy: all, Doc: "the internal app's AppKey (Client ID)"},
	{Name: "DINGTALK_APP_SECRET", NeededBy: all, UsedBy: all, Secret: true, Doc: "the internal app's AppSecret (Client Secret)"},
	{Name: "DINGTALK_AGENT_ID", NeededBy: []Function{Notify}, UsedBy: []Function{Notify, TokenRefresher}, Doc: "agent id for work notices (工作通知) and dd.config"},
	{Name: "DINGTALK_CORP_ID", NeededBy: []Function{Callback, Sync}, UsedBy: []Function{Callback, Notify, Sync, TokenRefresher}, Doc: "the organisation's corp id (dingxxxx); notify signs dd.config with it"},
	{Name: "DINGTALK_CALLBACK_TOKEN", NeededBy: []Function{Callback}, UsedBy: []Function{Callback}, Secret: true, Doc: "callback signing token"},
	{Name: "DINGTALK_CALLBACK_AES_KEY", NeededBy: []Function{Callback}, UsedBy: []Function{Callback}, Secret: true, Doc: "the 43-character EncodingAESKey"},
	{Name: "DINGTALK_CALLBACK_OWNER_KEY", UsedBy: []Function{Callback, Sync}, Default: "DINGTALK_APP_KEY", Doc: "receiver id inside encrypted messages: the app key for console subscriptions, the corp id for register_call_back, the suite key for ISV apps; sync recovers failed pushes when it is the corp id"},
	{Name: "DINGTALK_ROBOT_CODE", UsedBy: []Function{Notify}, Default: "DINGTALK_APP_KEY", Doc: "the app robot's robotCode (机器人 in the developer console) that POST /v1/robot/messages sends as"},
	{Name: "DINGTALK_OAPI_URL", UsedBy: all, Default: dingtalk.DefaultOAPIBaseURL, Doc: "old API base"},
	{Name: "DINGTALK_API_URL", UsedBy: all, Default: dingtalk.DefaultAPIBaseURL, Doc: "new API base"},
	{Name: "DINGFN_STORE", UsedBy: all, Default: "tablestore when TABLESTORE_ENDPOINT is set, else bolt:.dingfn/dingfn.db", Doc: "`tablestore`, `bolt:PATH`, `memory` or `redis://[user[:password]@]host:port/db` (`rediss://` for TLS)"},
	{Name: "DINGFN_REDIS_PASSWORD", UsedBy: all, Secret: true, Doc: "password of the Redis in DINGFN_STORE, so that the URL need not carry it"},
	{Name: "TABLESTORE_ENDPOINT", UsedBy: all, Doc: "Tablestore endpoint, e.g. https://INSTANCE.cn-hangzhou.ots.aliyuncs.com"},
	{Name: "TABLESTORE_INSTANCE", UsedBy: all, Doc: "Tablestore instance name"},
	{Name: "ALIBABA_CLOUD_ACCESS_KEY_ID", UsedBy: all, Doc: "Tablestore credentials; Function Compute injects them from the function's role"},
	{Name: "ALIBABA_CLOUD_ACCESS_KEY_SECRET", UsedBy: all, Secret: true, Doc: "Tablestore credentials"},
	{Name: "ALIBABA_CLOUD_SECURITY_TOKEN", UsedBy: all, Secret: true, Doc: "STS token, when the credentials are temporary"},
	{Name: "DINGFN_TABLE_PREFIX", UsedBy: all, Default: store.DefaultTablePrefix, Doc: "table name prefix, so several deployments can share one instance deliberately"},
	{Name: "NOTIFY_API_KEYS", NeededBy: []Function{Notify}, UsedBy: []Function{Notify}, Secret: true, Doc: "comma-separated bearer keys accepted by notify, each `key` or `name=key` (the name is logged as the caller)"},
	{Name: "DINGFN_CALLBACK_MAX_SKEW", UsedBy: []Function{Callback}, Default: "5m", Doc: "how far a push's timestamp may be from the callback's clock (seconds or milliseconds, as DingTalk sends both): a Go duration; 0 turns the check off"},
	{Name: "DINGFN_EVENT_RETENTION", UsedBy: []Function{Callback, Sync}, Default: "30d", Doc: "how long the event log keeps events: days (30d) or a Go duration, at least 1h and longer than DINGFN_CALLBACK_MAX_SKEW"},
	{Name: "DINGFN_EVENT_MAX_ATTEMPTS", UsedBy: []Function{Callback, Sync}, Default: strconv.Itoa(events.DefaultMaxAttempts), Doc: "how many times a handler (or forwarding target) may fail on an event before the event is dead"},
	{Name: "DINGFN_EVENT_RECOVER_EVERY", UsedBy: []Function{Sync}, Default: "15m", Doc: "how often the sync tick fetches the pushes DingTalk gave up on (get_call_back_failed_result, which counts against the monthly API quota), when the callback is registered with register_call_back (DINGTALK_CALLBACK_OWNER_KEY is the corp id): a Go duration; 0 turns it off"},
	{Name: "DINGFN_FORWARD_URLS", UsedBy: []Function{Callback, Sync}, Secret: true, Doc: "comma-separated `pattern=url` rules: events matching the pattern (a type, a prefix ending in *, or *) are posted, signed, to the URL (https, or http to a loopback address); a secret because webhook URLs often carry one"},
	{Name: "DINGFN_FORWARD_SECRET", UsedBy: []Function{Callback, Sync}, Secret: true, Doc: "the HMAC-SHA256 key of forwarded events' X-Dingfn-Signature, at least 16 characters; needed with DINGFN_FORWARD_URLS"},
	{Name: "DINGFN_ROBOTS", UsedBy: []Function{Notify}, Secret: true, Doc: "group robots notify may send through: comma-separated `name=access_token` or `name=access_token:signing_secret` (加签), the name being the {name} of POST /v1/robots/{name}/messages"},
	{Name: "DINGFN_SYNC_INTERVAL", UsedBy: []Function{Sync}, Default: "30m", Doc: "how long after a complete directory walk the next one starts: a Go duration; any positive value is honoured (1s walks at every tick)"},
	{Name: "DINGFN_SYNC_MAX_DELETE", UsedBy: []Function{Sync}, Default: directory.DefaultDeleteLimit.String(), Doc: "the most users and departments one directory walk may remove: a count (500) or a share of the mirror (10%); never below 20. A walk that would remove more removes nothing and fails"},
	{Name: "PORT", Default: "9000", Doc: "listen port in local mode"},
	{Name: "DINGFN_HOST", Default: "127.0.0.1", Doc: "listen host in local mode; loopback unless set, e.g. 0.0.0.0 to accept other machines (read by shared/platform)"},
	{Name: "DINGFN_LOG_LEVEL", Default: "info", Doc: "log level: debug, info, warn or error (read by shared/platform)"},
	{Name: "DINGFN_LOG_FORMAT", Default: "json on the platforms, text locally", Doc: "log format: json or text (read by shared/platform)"},
}

// Vars returns a copy of the contract table; changing it changes nothing
// else.
func Vars() []Var {
	out := slices.Clone(vars)
	for i := range out {
		out[i].NeededBy = slices.Clone(out[i].NeededBy)
		out[i].UsedBy = slices.Clone(out[i].UsedBy)
	}
	return out
}

// Needs reports whether function fn requires the variable.
func (v Var) Needs(fn Function) bool {
	return slices.Contains(v.NeededBy, fn) || (fn == Dev && len(v.NeededBy) > 0)
}

// StoreKind selects a store backend.
type StoreKind string

// The store backends.
const (
	StoreTablestore StoreKind = "tablestore"
	StoreBolt       StoreKind = "bolt"
	StoreMemory     StoreKind = "memory"
	StoreRedis      StoreKind = "redis"
)

// Store is the store part of the configuration.
type Store struct {
	Kind StoreKind
	// Path is the bolt file.
	Path string
	// URL is the Redis URL (DINGFN_STORE) and RedisPassword its password
	// when the URL has none (DINGFN_REDIS_PASSWORD).
	URL             string
	RedisPassword   string
	Endpoint        string
	Instance        string
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
	TablePrefix     string
}

// Config is the validated configuration of one function.
type Config struct {
	// Function is the function loaded for, or LoadFor's caller name.
	Function         Function
	AppKey           string
	AppSecret        string
	AgentID          int64
	CorpID           string
	CallbackToken    string
	CallbackAESKey   string
	CallbackOwnerKey string
	// RobotCode is the app robot notify sends as (DINGTALK_ROBOT_CODE,
	// default the app key).
	RobotCode string
	OAPIURL   string
	APIURL    string
	Store     Store
	// NotifyAPIKeys are NOTIFY_API_KEYS' entries as configured (key or
	// name=key); NotifyKeys is the same list parsed, for authentication.
	NotifyAPIKeys []string
	NotifyKeys    *httpapi.Keys
	// Robots are DINGFN_ROBOTS parsed: the group robots notify sends
	// through, by name.
	Robots *notify.Robots
	// Host and Port are the local-mode listen address.
	Host string
	Port int
	// CallbackMaxSkew is the callback's timestamp window; 0 turns it off.
	CallbackMaxSkew time.Duration
	// EventRetention is how long the event log keeps events.
	EventRetention time.Duration
	// EventMaxAttempts is how many times a handler may fail on an event.
	EventMaxAttempts int
	// EventRecoverEvery is how often the sync tick fetches failed pushes;
	// see RecoversFailedPushes.
	EventRecoverEvery time.Duration
	// ForwardRules and ForwardSecret configure forwarding.
	ForwardRules  []events.ForwardRule
	ForwardSecret string
	// SyncInterval is how long after a complete directory walk the next
	// one starts.
	SyncInterval time.Duration
	// SyncMaxDelete is the directory walk's deletion guard.
	SyncMaxDelete directory.DeleteLimit
}

// DefaultBoltPath is where the embedded store lives when nothing is set.
const DefaultBoltPath = ".dingfn/dingfn.db"

// Error lists every problem Load found; each names the variable and why.
type Error struct {
	Function Function
	Problems []Problem
}

// Problem is one invalid or missing variable.
type Problem struct {
	Var    string
	Reason string
}

// Error lists every problem on one line, so a failed start shows them all.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "config: %s cannot start:", e.Function)
	for _, p := range e.Problems {
		fmt.Fprintf(&b, " %s %s;", p.Var, p.Reason)
	}
	return strings.TrimSuffix(b.String(), ";")
}

// The value checks are written out rather than package-level regexps,
// which every cold start would compile (the host name pattern's counted
// repetition alone was the largest init of a function binary).

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// isAESKey reports whether s is 43 letters and digits (an EncodingAESKey).
func isAESKey(s string) bool {
	if len(s) != 43 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) {
			return false
		}
	}
	return true
}

// isHostname reports whether s matches
// [A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?.
func isHostname(s string) bool {
	if len(s) == 0 || len(s) > 253 || !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !isAlnum(c) && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

// Load reads and validates the configuration function fn needs. getenv is
// usually os.Getenv; tests pass a map lookup.
func Load(fn Function, getenv func(string) string) (*Config, error) {
	if fn != Dev && !slices.Contains(all, fn) {
		return nil, fmt.Errorf("%w %q", ErrUnknownFunction, fn)
	}
	return load(&loader{fn: fn, getenv: getenv})
}

// LoadFor reads and validates the configuration as Load does, for a caller
// that is not one of the functions, such as a command of the operator
// command line: only the variables named in needs are required (the store's
// are still required when the store is Tablestore), and every problem names
// who. Each name must be in the contract table.
func LoadFor(who string, needs []string, getenv func(string) string) (*Config, error) {
	if who == "" {
		return nil, errors.New("config: LoadFor: empty caller name")
	}
	l := &loader{fn: Function(who), getenv: getenv, needs: map[string]bool{}}
	for _, n := range needs {
		if !slices.ContainsFunc(vars, func(v Var) bool { return v.Name == n }) {
			return nil, fmt.Errorf("config: LoadFor: %s is not in the contract table", n)
		}
		l.needs[n] = true
	}
	return load(l)
}

func load(l *loader) (*Config, error) {
	fn := l.fn
	c := &Config{Function: fn}

	c.AppKey = l.str("DINGTALK_APP_KEY")
	c.AppSecret = l.str("DINGTALK_APP_SECRET")
	c.AgentID = l.positiveInt("DINGTALK_AGENT_ID")
	c.CorpID = l.str("DINGTALK_CORP_ID")
	c.CallbackToken = l.str("DINGTALK_CALLBACK_TOKEN")
	if c.CallbackToken != "" && strings.ContainsAny(c.CallbackToken, " \t\r\n") {
		l.fail("DINGTALK_CALLBACK_TOKEN", "must not contain white space")
	}
	c.CallbackAESKey = l.str("DINGTALK_CALLBACK_AES_KEY")
	if c.CallbackAESKey != "" && !isAESKey(c.CallbackAESKey) {
		l.fail("DINGTALK_CALLBACK_AES_KEY", fmt.Sprintf("must be exactly 43 letters and digits (the EncodingAESKey), got %d characters", len(c.CallbackAESKey)))
	}
	c.CallbackOwnerKey = l.str("DINGTALK_CALLBACK_OWNER_KEY")
	if c.CallbackOwnerKey == "" {
		c.CallbackOwnerKey = c.AppKey
	}
	c.RobotCode = l.str("DINGTALK_ROBOT_CODE")
	if c.RobotCode == "" {
		c.RobotCode = c.AppKey
	}
	if strings.ContainsAny(c.RobotCode, " \t\r\n,") {
		l.fail("DINGTALK_ROBOT_CODE", "must be the robot's code as the developer console shows it, without spaces or commas")
	}
	c.OAPIURL = l.baseURL("DINGTALK_OAPI_URL")
	c.APIURL = l.baseURL("DINGTALK_API_URL")
	c.Store = l.store()
	if keys := l.str("NOTIFY_API_KEYS"); keys != "" {
		// One parser for configuration and authentication, so what
		// starts is what authenticates.
		parsed, err := httpapi.ParseKeys(keys)
		if ke, ok := errors.AsType[*httpapi.KeysError](err); ok {
			for _, p := range ke.Problems {
				l.fail("NOTIFY_API_KEYS", p)
			}
		} else {
			c.NotifyKeys = parsed
			for k := range strings.SplitSeq(keys, ",") {
				c.NotifyAPIKeys = append(c.NotifyAPIKeys, strings.TrimSpace(k))
			}
		}
	}
	robots, err := notify.ParseRobots(l.str("DINGFN_ROBOTS"))
	if re, ok := errors.AsType[*notify.RobotsError](err); ok {
		for _, p := range re.Problems {
			l.fail("DINGFN_ROBOTS", p)
		}
	}
	c.Robots = robots
	c.Host = lookupVar("DINGFN_HOST").Default
	if h := strings.TrimSpace(l.getenv("DINGFN_HOST")); h != "" {
		if net.ParseIP(h) == nil && !isHostname(h) {
			l.fail("DINGFN_HOST", fmt.Sprintf("must be an IP address or a host name without a port (0.0.0.0 for every interface), got %q", h))
		} else {
			c.Host = h
		}
	}
	c.SyncInterval = l.duration("DINGFN_SYNC_INTERVAL")
	c.SyncMaxDelete = directory.DefaultDeleteLimit
	if v := strings.TrimSpace(l.getenv("DINGFN_SYNC_MAX_DELETE")); v != "" {
		lim, err := directory.ParseDeleteLimit(v)
		if err != nil {
			l.fail("DINGFN_SYNC_MAX_DELETE", "must be a record count (500) or a share of the mirror (10%), got "+strconv.Quote(v))
		} else {
			c.SyncMaxDelete = lim
		}
	}
	c.Port = 9000
	if p := l.getenv("PORT"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			l.fail("PORT", fmt.Sprintf("must be a port number 1-65535, got %q", p))
		} else {
			c.Port = n
		}
	}
	l.events(c)
	if len(l.problems) > 0 {
		return nil, &Error{Function: fn, Problems: l.problems}
	}
	return c, nil
}

// events reads the event log's and forwarding's variables.
func (l *loader) events(c *Config) {
	c.CallbackMaxSkew = callback.DefaultMaxClockSkew
	if v := strings.TrimSpace(l.getenv("DINGFN_CALLBACK_MAX_SKEW")); v != "" {
		d, err := time.ParseDuration(v)
		if v == "0" {
			d, err = 0, nil
		}
		if err != nil || d < 0 {
			l.fail("DINGFN_CALLBACK_MAX_SKEW", fmt.Sprintf("must be a Go duration such as 5m, or 0 to turn the check off, got %q", v))
		} else {
			c.CallbackMaxSkew = d
		}
	}
	c.EventRetention = events.DefaultRetention
	if v := strings.TrimSpace(l.getenv("DINGFN_EVENT_RETENTION")); v != "" {
		d, err := parseDays(v)
		switch {
		case err != nil:
			l.fail("DINGFN_EVENT_RETENTION", fmt.Sprintf("must be days (30d) or a Go duration (720h), got %q", v))
		case d < time.Hour:
			l.fail("DINGFN_EVENT_RETENTION", fmt.Sprintf("must be at least 1h, got %q", v))
		default:
			c.EventRetention = d
		}
	}
	if c.CallbackMaxSkew >= c.EventRetention {
		l.fail("DINGFN_EVENT_RETENTION", fmt.Sprintf("must be longer than DINGFN_CALLBACK_MAX_SKEW (%v), or a replay inside the window could outlive its log row", c.CallbackMaxSkew))
	}
	c.EventMaxAttempts = events.DefaultMaxAttempts
	if v := strings.TrimSpace(l.getenv("DINGFN_EVENT_MAX_ATTEMPTS")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			l.fail("DINGFN_EVENT_MAX_ATTEMPTS", fmt.Sprintf("must be a whole number from 1 to 100, got %q", v))
		} else {
			c.EventMaxAttempts = n
		}
	}
	c.EventRecoverEvery = 15 * time.Minute
	if v := strings.TrimSpace(l.getenv("DINGFN_EVENT_RECOVER_EVERY")); v != "" {
		d, err := time.ParseDuration(v)
		if v == "0" {
			d, err = 0, nil
		}
		if err != nil || d < 0 || (d > 0 && d < time.Minute) {
			l.fail("DINGFN_EVENT_RECOVER_EVERY", fmt.Sprintf("must be a Go duration of at least 1m (the tick's period), or 0 to turn recovery off, got %q", v))
		} else {
			c.EventRecoverEvery = d
		}
	}
	// Both are secrets: problems never quote their values.
	rules, err := events.ParseForwardRules(l.getenv("DINGFN_FORWARD_URLS"))
	if fe, ok := errors.AsType[*events.ForwardRulesError](err); ok {
		for _, p := range fe.Problems {
			l.fail("DINGFN_FORWARD_URLS", p)
		}
	}
	c.ForwardRules = rules
	c.ForwardSecret = strings.TrimSpace(l.getenv("DINGFN_FORWARD_SECRET"))
	switch {
	case len(rules) > 0 && c.ForwardSecret == "":
		l.fail("DINGFN_FORWARD_SECRET", "is not set (DINGFN_FORWARD_URLS forwards events, signed with it)")
	case c.ForwardSecret != "" && len(c.ForwardSecret) < events.MinForwardSecretLen:
		l.fail("DINGFN_FORWARD_SECRET", fmt.Sprintf("must be at least %d characters, got %d", events.MinForwardSecretLen, len(c.ForwardSecret)))
	}
}

// RecoversFailedPushes reports whether the sync tick fetches the pushes
// DingTalk gave up on: only a callback registered with register_call_back
// (whose owner key is the corp id) has them, and each fetch counts against
// the app's monthly API quota.
func (c *Config) RecoversFailedPushes() bool {
	return c.EventRecoverEvery > 0 && c.CorpID != "" && c.CallbackOwnerKey == c.CorpID
}

// parseDays reads "30d" (whole days) or a Go duration.
func parseDays(v string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(v, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 {
			return 0, fmt.Errorf("bad day count %q", n)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return time.ParseDuration(v)
}

type loader struct {
	fn     Function
	getenv func(string) string
	// needs, when not nil, replaces the table's NeededBy (LoadFor).
	needs    map[string]bool
	problems []Problem
}

// required reports whether the caller must have the variable set.
func (l *loader) required(name string) bool {
	if l.needs != nil {
		return l.needs[name]
	}
	return lookupVar(name).Needs(l.fn)
}

func (l *loader) fail(name, reason string) {
	l.problems = append(l.problems, Problem{Var: name, Reason: reason})
}

func lookupVar(name string) Var {
	for _, v := range vars {
		if v.Name == name {
			return v
		}
	}
	panic("config: variable not in the contract table: " + name)
}

// str returns the trimmed value and records a problem when fn needs it and
// it is empty.
func (l *loader) str(name string) string {
	s := strings.TrimSpace(l.getenv(name))
	if s == "" && l.required(name) {
		l.fail(name, fmt.Sprintf("is not set (%s needs %s)", l.fn, lookupVar(name).Doc))
	}
	return s
}

func (l *loader) positiveInt(name string) int64 {
	s := l.str(name)
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		l.fail(name, fmt.Sprintf("must be a positive integer, got %q", s))
		return 0
	}
	return n
}

// duration returns the variable as a positive Go duration, or its
// contract default.
func (l *loader) duration(name string) time.Duration {
	s := strings.TrimSpace(l.getenv(name))
	if s == "" {
		s = lookupVar(name).Default
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		l.fail(name, fmt.Sprintf("must be a positive Go duration such as 30m or 1h, got %q", s))
		return 0
	}
	return d
}

// baseURL returns the variable's value, or its contract default.
func (l *loader) baseURL(name string) string {
	s := strings.TrimSpace(l.getenv(name))
	if s == "" {
		return lookupVar(name).Default
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		l.fail(name, fmt.Sprintf("must be an http(s) base URL without a query, got %q", s))
		return ""
	}
	return strings.TrimSuffix(s, "/")
}

func (l *loader) store() Store {
	s := Store{
		Endpoint:        strings.TrimSpace(l.getenv("TABLESTORE_ENDPOINT")),
		Instance:        strings.TrimSpace(l.getenv("TABLESTORE_INSTANCE")),
		AccessKeyID:     strings.TrimSpace(l.getenv("ALIBABA_CLOUD_ACCESS_KEY_ID")),
		AccessKeySecret: strings.TrimSpace(l.getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET")),
		SecurityToken:   strings.TrimSpace(l.getenv("ALIBABA_CLOUD_SECURITY_TOKEN")),
		TablePrefix:     lookupVar("DINGFN_TABLE_PREFIX").Default,
	}
	if p := strings.TrimSpace(l.getenv("DINGFN_TABLE_PREFIX")); p != "" {
		if store.CheckPrefix(p) != nil {
			l.fail("DINGFN_TABLE_PREFIX", fmt.Sprintf("must be letters, digits and underscores, not starting with a digit (a Tablestore table name), got %q", p))
		}
		s.TablePrefix = p
	}
	spec := strings.TrimSpace(l.getenv("DINGFN_STORE"))
	switch {
	case spec == "" && s.Endpoint != "":
		s.Kind = StoreTablestore
	case spec == "":
		s.Kind, s.Path = StoreBolt, DefaultBoltPath
	case spec == "memory":
		s.Kind = StoreMemory
	case spec == "tablestore":
		s.Kind = StoreTablestore
	case strings.HasPrefix(spec, "bolt:") && len(spec) > len("bolt:"):
		s.Kind, s.Path = StoreBolt, spec[len("bolt:"):]
	case spec == "bolt":
		s.Kind, s.Path = StoreBolt, DefaultBoltPath
	case strings.HasPrefix(spec, "redis://") || strings.HasPrefix(spec, "rediss://"):
		s.Kind, s.URL = StoreRedis, spec
		s.RedisPassword = strings.TrimSpace(l.getenv("DINGFN_REDIS_PASSWORD"))
	default:
		got := fmt.Sprintf("got %q", spec)
		if strings.HasPrefix(spec, "redis") {
			got = "got a value starting with redis that is not a redis:// or rediss:// URL (not shown: it may hold a password)"
		}
		l.fail("DINGFN_STORE", "must be tablestore, bolt:PATH or memory, or a redis://[user[:password]@]host:port/db URL; "+got)
	}
	if s.Kind != "" {
		// The same checks open the store, so what passes here connects
		// (as far as a URL can tell) and is in this binary.
		err := backend.Check(backend.Spec{Kind: string(s.Kind), URL: s.URL, Password: s.RedisPassword})
		switch {
		case errors.Is(err, backend.ErrNotBuilt) && spec == "":
			l.fail("DINGFN_STORE", fmt.Sprintf("is not set and TABLESTORE_ENDPOINT is not set either, so the store would be the local default %s:%s, which this binary was built without (it has %s); set DINGFN_STORE, or TABLESTORE_ENDPOINT and the other Tablestore variables",
				s.Kind, s.Path, strings.Join(backend.Kinds(), ", ")))
		case errors.Is(err, backend.ErrNotBuilt):
			l.fail("DINGFN_STORE", fmt.Sprintf("selects the %s store, which this binary was built without (it has %s); choose one of those, or build with the %s store (make STORES=\"tablestore %s\", build tag %s)",
				s.Kind, strings.Join(backend.Kinds(), ", "), s.Kind, s.Kind, backend.Tag(string(s.Kind))))
		case err != nil:
			l.fail("DINGFN_STORE", fmt.Sprintf("is not a usable Redis URL: %v", err))
		}
	}
	if s.Kind == StoreTablestore {
		for _, kv := range [][2]string{
			{"TABLESTORE_ENDPOINT", s.Endpoint},
			{"TABLESTORE_INSTANCE", s.Instance},
			{"ALIBABA_CLOUD_ACCESS_KEY_ID", s.AccessKeyID},
			{"ALIBABA_CLOUD_ACCESS_KEY_SECRET", s.AccessKeySecret},
		} {
			if kv[1] == "" {
				l.fail(kv[0], fmt.Sprintf("is not set (%s uses the tablestore store, which needs it)", l.fn))
			}
		}
		if s.Endpoint != "" {
			if u, err := url.Parse(s.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				l.fail("TABLESTORE_ENDPOINT", fmt.Sprintf("must be an http(s) URL, got %q", s.Endpoint))
			}
		}
	}
	return s
}

// LogValue keeps secrets out of logs: only their presence is shown.
func (c *Config) LogValue() slog.Value {
	present := func(s string) string {
		if s == "" {
			return "unset"
		}
		return "set"
	}
	return slog.GroupValue(
		slog.String("function", string(c.Function)),
		slog.String("app_key", c.AppKey),
		slog.String("app_secret", present(c.AppSecret)),
		slog.Int64("agent_id", c.AgentID),
		slog.String("corp_id", c.CorpID),
		slog.String("callback_token", present(c.CallbackToken)),
		slog.String("callback_aes_key", present(c.CallbackAESKey)),
		slog.String("callback_owner_key", c.CallbackOwnerKey),
		slog.String("oapi_url", c.OAPIURL),
		slog.String("api_url", c.APIURL),
		slog.String("store", string(c.Store.Kind)),
		slog.String("table_prefix", c.Store.TablePrefix),
		slog.Int("notify_api_keys", len(c.NotifyAPIKeys)),
		slog.Any("notify_callers", c.NotifyKeys),
		slog.Duration("callback_max_skew", c.CallbackMaxSkew),
		slog.Duration("event_retention", c.EventRetention),
		slog.Int("event_max_attempts", c.EventMaxAttempts),
		slog.Duration("event_recover_every", c.EventRecoverEvery),
		slog.Bool("recovers_failed_pushes", c.RecoversFailedPushes()),
		slog.Int("forward_rules", len(c.ForwardRules)),
		slog.String("forward_secret", present(c.ForwardSecret)),
		slog.Any("robots", c.Robots),
		slog.Duration("sync_interval", c.SyncInterval),
		slog.String("sync_max_delete", c.SyncMaxDelete.String()),
	)
}

// ErrUnknownFunction is returned for a function name outside the bundle.
var ErrUnknownFunction = errors.New("config: unknown function")
