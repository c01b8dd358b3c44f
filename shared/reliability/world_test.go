package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/bundle"
	"github.com/dingfn/dingfn/shared/config"
	"github.com/dingfn/dingfn/shared/dingcrypto"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/events"
	"github.com/dingfn/dingfn/shared/functions"
	"github.com/dingfn/dingfn/shared/platform"
	"github.com/dingfn/dingfn/shared/reliability/secretscan"
	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/token"
)

// Made-up secrets of the suite's deployment; none looks like a real one.
const (
	appKey         = "reliabilityAppKey"
	appSecret      = "reliability-app-secret-not-real-0001"
	callbackToken  = "reliabilityCallbackToken01"
	callbackAESKey = "reliabilityAesKey0123456789abcdefghijklmnop"
	notifyKey      = "reliability-notify-key-not-real-0002"
	robotToken     = "reliabilityRobotAccessToken0003"
	robotSecret    = "SECreliabilityRobotSigningSecret0004"
	storeKeyID     = "reliabilityStoreKeyID"
	storeKeySecret = "reliability-store-key-secret-0005"
	probeType      = "reliability_probe"
	callbackLimit  = 1500 * time.Millisecond
)

// world is one run of the suite: the fakes, the functions and what was
// observed.
type world struct {
	t     *testing.T
	seed  uint64
	rngMu sync.Mutex
	rng   *rand.Rand
	clk   *jumpClock
	scan  *secretscan.Scanner

	ding    *dingtalktest.Server
	fakeURL string
	emu     *emulator
	env     map[string]string

	cbURL      string
	notifyURLs []string
	sync       platform.TimerFunc
	watch      *bundle.Bundle  // reads the store for the checks
	log        *events.Service // the event log, read by the probe handler
	refresher  *child
	pushClient *http.Client
	stable     []string // userids never changed: notice recipients

	mu        sync.Mutex
	issued    map[string]int // token or ticket → order the fake issued it in
	lastToken map[token.Kind]int
	probes    map[string][]byte // probe name → payload
	accepted  map[string]bool   // probes answered with encrypted success
	runs      map[string]int    // successful probe handler runs by probe
	doubles   []string          // runs of an event already stored done
	reruns    int               // runs after a lost outcome (allowed)
	pushes    []recordedPush
	replies   []time.Duration
	notices   map[string][]string // idempotency key → recipients
	noticeOK  map[string]string   // key → notice id, once an instance answered 2xx
	problems  []string            // failures seen on the way (token regression, panics…)
	counts    map[string]int
	logMu     sync.Mutex
	logFile   *os.File // every function's log, when DINGFN_RELIABILITY_LOG names a file
	userSeq   int
	added     []string
}

type recordedPush struct {
	probe       string
	url         string
	body        []byte
	contentType string
}

type probeKey struct{}

func (w *world) intn(n int) int {
	w.rngMu.Lock()
	defer w.rngMu.Unlock()
	return w.rng.IntN(n)
}

func (w *world) chance(p float64) bool {
	w.rngMu.Lock()
	defer w.rngMu.Unlock()
	return w.rng.Float64() < p
}

func (w *world) problem(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.problems = append(w.problems, fmt.Sprintf(format, args...))
}

func (w *world) count(what string) {
	w.mu.Lock()
	w.counts[what]++
	w.mu.Unlock()
}

// newWorld starts the fakes, the emulator child and the functions.
func newWorld(t *testing.T, seed uint64, users int) *world {
	w := &world{
		t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, 1)),
		clk:    &jumpClock{},
		scan:   secretscan.New(),
		issued: map[string]int{}, lastToken: map[token.Kind]int{},
		probes: map[string][]byte{}, accepted: map[string]bool{}, runs: map[string]int{},
		notices: map[string][]string{}, noticeOK: map[string]string{}, counts: map[string]int{},
	}
	if path := os.Getenv("DINGFN_RELIABILITY_LOG"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		w.logFile = f
	}
	for name, v := range map[string]string{
		"app secret": appSecret, "callback token": callbackToken, "callback AES key": callbackAESKey,
		"notify API key": notifyKey, "robot token": robotToken, "robot secret": robotSecret,
		"store access key secret": storeKeySecret,
	} {
		if err := w.scan.Add(name, v); err != nil {
			t.Fatal(err)
		}
	}

	// DingTalk, pushing through a client that records each push for
	// replay and scans its bodies.
	w.pushClient = &http.Client{Timeout: 10 * time.Second, Transport: pushRecorder{w: w, next: w.scan.Transport("dingtalk push", http.DefaultTransport)}}
	w.ding = dingtalktest.NewServer(
		dingtalktest.WithClock(w.clk.Now),
		dingtalktest.WithApp(appKey, appSecret),
		dingtalktest.WithGeneratedOrg(dingtalktest.OrgSpec{Users: users, Seed: seed}),
		dingtalktest.WithEventSubscription(callbackToken, callbackAESKey),
		dingtalktest.WithPushClient(w.pushClient),
		dingtalktest.WithMaxRecordedCalls(1000),
	)
	t.Cleanup(w.ding.Close)
	w.ding.AddRobot(robotToken, dingtalktest.RobotConfig{Secret: robotSecret})
	fake := httptest.NewServer(w.scan.Handler("dingtalk", w.ding.Handler(), carriesToken, w.learnTokens))
	t.Cleanup(fake.Close)
	w.fakeURL = fake.URL
	for _, u := range w.ding.Org().Users {
		if len(w.stable) < 20 {
			w.stable = append(w.stable, u.UserID)
		}
	}

	// The store: the emulator in a child process, on a data file.
	w.emu = &emulator{data: filepath.Join(t.TempDir(), "ots.db"), addr: "127.0.0.1:0", seed: seed, scan: w.scan}
	if err := w.emu.start(0.03); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.emu.stop)

	w.env = map[string]string{
		"DINGTALK_APP_KEY": appKey, "DINGTALK_APP_SECRET": appSecret,
		"DINGTALK_AGENT_ID": strconv.FormatInt(w.ding.AgentID(), 10), "DINGTALK_CORP_ID": w.ding.CorpID(),
		"DINGTALK_CALLBACK_TOKEN": callbackToken, "DINGTALK_CALLBACK_AES_KEY": callbackAESKey,
		"DINGTALK_CALLBACK_OWNER_KEY": appKey,
		"DINGTALK_OAPI_URL":           w.fakeURL, "DINGTALK_API_URL": w.fakeURL,
		"NOTIFY_API_KEYS": "ops=" + notifyKey,
		"DINGFN_ROBOTS":   "ops=" + robotToken + ":" + robotSecret,
		"DINGFN_STORE":    "tablestore", "TABLESTORE_ENDPOINT": "http://" + w.emu.addr,
		"TABLESTORE_INSTANCE":         "reliability",
		"ALIBABA_CLOUD_ACCESS_KEY_ID": storeKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": storeKeySecret,
		"DINGFN_SYNC_INTERVAL": "10m",
	}

	register := func(m *events.Mux) { m.HandleFunc(probeType, w.probe) }
	cb := w.open(config.Callback)
	h, err := functions.CallbackWith(register)(cb)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w.scan.Handler("callback", w.timed(w.recovering(h)), nil, nil))
	t.Cleanup(srv.Close)
	w.cbURL = srv.URL + "/callback"

	// Two notify instances on one store, as the platform runs them.
	for i := range 2 {
		h, err := functions.Notify(w.open(config.Notify))
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(w.scan.Handler(fmt.Sprintf("notify-%d", i), w.recovering(h), nil, nil))
		t.Cleanup(srv.Close)
		w.notifyURLs = append(w.notifyURLs, srv.URL)
	}

	if w.sync, err = functions.SyncWith(register)(w.open(config.Sync)); err != nil {
		t.Fatal(err)
	}
	w.watch = w.open(config.Sync)
	if w.log, err = functions.Events(w.watch, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.startRefresher(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.refresher.stop() })
	return w
}

// open loads fn's configuration from the suite's environment and opens
// its bundle on the suite's clock, logging through the scanner.
func (w *world) open(fn config.Function) *bundle.Bundle {
	w.t.Helper()
	cfg, err := config.Load(fn, func(k string) string { return w.env[k] })
	if err != nil {
		w.t.Fatal(err)
	}
	logger := slog.New(slog.NewJSONHandler(logSink{w: w, where: string(fn) + " log"}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bundle.Open(ctx, cfg, logger, bundle.WithClock(w.clk.Now))
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { b.Close() })
	return b
}

// logSink scans each log line for secrets and panics.
type logSink struct {
	w     *world
	where string
}

func (s logSink) Write(p []byte) (int, error) {
	if s.w.logFile != nil {
		s.w.logMu.Lock()
		fmt.Fprintf(s.w.logFile, "%s %s", s.where, p)
		s.w.logMu.Unlock()
	}
	s.w.scan.Check(s.where, p)
	s.w.count("log lines")
	if isPanic(string(p)) {
		s.w.problem("%s: panic: %.300s", s.where, p)
	}
	return len(p), nil
}

// carriesToken says which of the fake's requests carry a secret by
// design: the token and ticket requests (app secret in, token out).
func carriesToken(r *http.Request) bool {
	switch strings.TrimPrefix(r.URL.Path, "/") {
	case "gettoken", "get_jsapi_ticket", "v1.0/oauth2/accessToken", "v1.0/oauth2/jsapiTickets":
		return true
	}
	return false
}

// learnTokens registers each token and ticket the fake issues, before the
// caller has it, with the scanner and in issue order.
func (w *world) learnTokens(body []byte) {
	var v map[string]any
	if json.Unmarshal(body, &v) != nil {
		return
	}
	for _, f := range []string{"access_token", "accessToken", "ticket", "jsapiTicket"} {
		s, ok := v[f].(string)
		if !ok || s == "" {
			continue
		}
		w.mu.Lock()
		if _, seen := w.issued[s]; !seen {
			w.issued[s] = len(w.issued)
		}
		w.mu.Unlock()
		if err := w.scan.Add("issued "+f, s); err != nil {
			w.problem("the fake issued a %s shorter than the scanner can look for", f)
		}
	}
}

// timed records how long the callback took to answer.
func (w *world) timed(h http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h.ServeHTTP(rw, r)
		d := time.Since(start)
		w.mu.Lock()
		w.replies = append(w.replies, d)
		w.mu.Unlock()
	})
}

// recovering records a handler's panic as a problem and answers 500.
func (w *world) recovering(h http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				w.problem("%s %s panicked: %v", r.Method, r.URL.Path, v)
				http.Error(rw, "panic", http.StatusInternalServerError)
			}
		}()
		h.ServeHTTP(rw, r)
	})
}

// pushRecorder keeps every probe push DingTalk sends, for replay.
type pushRecorder struct {
	w    *world
	next http.RoundTripper
}

func (p pushRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	if name, ok := r.Context().Value(probeKey{}).(string); ok && r.GetBody != nil {
		if b, err := r.GetBody(); err == nil {
			body, _ := io.ReadAll(b)
			p.w.mu.Lock()
			p.w.pushes = append(p.w.pushes, recordedPush{probe: name, url: r.URL.String(), body: body, contentType: r.Header.Get("Content-Type")})
			p.w.mu.Unlock()
		}
	}
	return p.next.RoundTrip(r)
}

// probe is the suite's event handler: it counts runs per probe and
// checks the log had not already stored this handler's success.
func (w *world) probe(ctx context.Context, ev *events.Event) error {
	var p struct {
		Probe string `json:"probe"`
	}
	if err := json.Unmarshal(ev.Payload, &p); err != nil || p.Probe == "" {
		w.problem("probe event %s without a probe name: %v", ev.ID, err)
		return nil
	}
	if e, err := w.log.Get(ctx, ev.ID); err == nil {
		if r, ok := e.Results[probeType]; ok && r.Status == events.StatusDone {
			w.mu.Lock()
			w.doubles = append(w.doubles, p.Probe)
			w.mu.Unlock()
		}
	}
	// One probe in eight fails its first run, for the drain to retry.
	if ev.Attempt == 1 && fnv(p.Probe)%8 == 0 {
		return errors.New("reliability: planned failure of a first run")
	}
	w.mu.Lock()
	w.runs[p.Probe]++
	if w.runs[p.Probe] > 1 {
		w.reruns++
	}
	w.mu.Unlock()
	return nil
}

func fnv(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}

// pushProbe pushes probe name (a new one, or again: a redelivery).
func (w *world) pushProbe(ctx context.Context, name string) {
	w.mu.Lock()
	payload, ok := w.probes[name]
	if !ok {
		// An app-level subscription's push carries DingTalk's eventId.
		payload = fmt.Appendf(nil, `{"EventType":%q,"eventId":"rel-%d-%s","CorpId":%q,"probe":%q,"TimeStamp":%d}`, probeType, w.seed, name, w.ding.CorpID(), name, w.clk.Now().UnixMilli())
		w.probes[name] = payload
	}
	w.mu.Unlock()
	w.count("pushes")
	err := w.ding.PushEvent(context.WithValue(ctx, probeKey{}, name), w.cbURL, payload)
	if err == nil {
		w.mu.Lock()
		w.accepted[name] = true
		w.mu.Unlock()
		return
	}
	w.count("pushes refused")
}

// replay sends a recorded push again byte for byte, as an attacker or a
// confused proxy would, and counts its probe accepted if the callback
// answers with an encrypted success.
func (w *world) replay(ctx context.Context) {
	w.mu.Lock()
	if len(w.pushes) == 0 {
		w.mu.Unlock()
		return
	}
	p := w.pushes[w.intn(len(w.pushes))]
	w.mu.Unlock()
	w.count("replays")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(p.body))
	if err != nil {
		w.problem("replay: %v", err)
		return
	}
	req.Header.Set("Content-Type", p.contentType)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return
	}
	var env dingcrypto.Envelope
	if json.Unmarshal(raw, &env) != nil {
		return
	}
	c, err := dingcrypto.New(callbackToken, callbackAESKey, appKey)
	if err != nil {
		w.problem("replay: %v", err)
		return
	}
	if plain, err := c.Decrypt(env.MsgSignature, env.TimeStamp, env.Nonce, env.Encrypt); err == nil && string(plain) == "success" {
		w.mu.Lock()
		w.accepted[p.probe] = true
		w.mu.Unlock()
	}
}

// contactChange changes the fake's organisation and pushes the event
// DingTalk would.
func (w *world) contactChange(ctx context.Context) {
	org := w.ding.Org()
	var ev map[string]any
	switch op := w.intn(3); {
	case op == 0 || len(w.added) == 0 && op == 2:
		w.mu.Lock()
		w.userSeq++
		id := fmt.Sprintf("rel%d", w.userSeq)
		w.mu.Unlock()
		dept := org.Departments[w.intn(len(org.Departments))].ID
		u, err := w.ding.AddUser(dingtalktest.User{UserID: id, Name: "可靠 " + id, Mobile: fmt.Sprintf("139%08d", w.userSeq), DeptIDs: []int64{dept}})
		if err != nil {
			w.problem("add user: %v", err)
			return
		}
		w.mu.Lock()
		w.added = append(w.added, u.UserID)
		w.mu.Unlock()
		ev = w.ding.UserEvent("user_add_org", u.UserID)
	case op == 1:
		u := org.Users[len(w.stable)+w.intn(len(org.Users)-len(w.stable))]
		if err := w.ding.RenameUser(u.UserID, u.Name+"·"+strconv.Itoa(w.intn(100))); err != nil {
			w.problem("rename user: %v", err)
			return
		}
		ev = w.ding.UserEvent("user_modify_org", u.UserID)
	default:
		w.mu.Lock()
		i := w.intn(len(w.added))
		id := w.added[i]
		w.added = slices.Delete(w.added, i, i+1)
		w.mu.Unlock()
		if err := w.ding.RemoveUser(id); err != nil {
			w.problem("remove user: %v", err)
			return
		}
		ev = w.ding.UserEvent("user_leave_org", id)
	}
	w.count("contact changes")
	if err := w.ding.PushEvent(ctx, w.cbURL, ev); err != nil {
		w.count("contact pushes refused")
	}
}

// notice asks both notify instances at once for one notice under one
// idempotency key, as a client whose request was delivered twice, and
// sometimes retries it.
func (w *world) notice(ctx context.Context, n int) {
	key := fmt.Sprintf("rel-%d-%d", w.seed, n)
	users := []string{w.stable[w.intn(len(w.stable))]}
	if other := w.stable[w.intn(len(w.stable))]; other != users[0] {
		users = append(users, other)
	}
	w.mu.Lock()
	w.notices[key] = users
	w.mu.Unlock()
	body, _ := json.Marshal(map[string]any{"userids": users, "msg": map[string]any{"msgtype": "text", "text": map[string]any{"content": "reliability notice " + key}}})
	var wg sync.WaitGroup
	for _, u := range w.notifyURLs {
		wg.Go(func() { w.postNotice(ctx, u, key, body) })
	}
	wg.Wait()
	if w.chance(0.3) {
		w.postNotice(ctx, w.notifyURLs[w.intn(len(w.notifyURLs))], key, body)
	}
}

func (w *world) postNotice(ctx context.Context, base, key string, body []byte) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second) // a client that gives up
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/notices", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+notifyKey)
	req.Header.Set("Idempotency-Key", key)
	req.Header.Set("Content-Type", "application/json")
	w.count("notice requests")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.count("notice requests failed")
		return
	}
	defer res.Body.Close()
	var ans struct {
		ID string `json:"id"`
	}
	_ = json.NewDecoder(res.Body).Decode(&ans)
	w.count(fmt.Sprintf("notice answers %d", res.StatusCode))
	if res.StatusCode/100 == 2 && ans.ID != "" {
		w.mu.Lock()
		w.noticeOK[key] = ans.ID
		w.mu.Unlock()
	}
}

// syncTick runs one sync tick, cancelled part-way when crash is set: the
// function dying between two of its steps.
func (w *world) syncTick(ctx context.Context, crash bool) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if crash {
		t := time.AfterFunc(time.Duration(w.intn(400))*time.Millisecond, cancel)
		defer t.Stop()
		w.count("sync ticks cancelled")
	}
	w.count("sync ticks")
	_, _ = w.sync(ctx)
}

// startRefresher starts the token-refresher child.
func (w *world) startRefresher() error {
	var env []string
	for k, v := range w.env {
		env = append(env, k+"="+v)
	}
	c, err := startChild("token-refresher", roleToken, env, w.scan)
	if err != nil {
		return err
	}
	w.refresher = c
	return nil
}

// refresherTick runs one token-refresher tick on the suite's clock; with
// crash, the child is killed with SIGKILL part-way and started again.
func (w *world) refresherTick(crash bool) {
	w.count("refresher ticks")
	if _, err := fmt.Fprintf(w.refresher.stdin, "tick %d\n", w.clk.Offset()); err != nil {
		w.problem("token-refresher: %v", err)
		return
	}
	if crash {
		d := time.Duration(w.intn(150)) * time.Millisecond
		t := time.AfterFunc(d, w.refresher.kill)
		defer t.Stop()
	}
	if _, err := w.refresher.readLine(30 * time.Second); err != nil {
		if !crash {
			w.problem("token-refresher: %v", err)
		}
		w.refresher.kill()
		w.count("refresher killed")
		w.collectPanics(w.refresher)
		if err := w.startRefresher(); err != nil {
			w.problem("restart token-refresher: %v", err)
		}
	}
}

func (w *world) collectPanics(c *child) {
	for _, l := range c.panicLines() {
		w.problem("%s: %.300s", c.name, l)
	}
}

// watchTokens reads the stored access token and ticket and checks each
// is no older, in the fake's issue order, than the last one read.
func (w *world) watchTokens(ctx context.Context, after string) {
	for _, k := range token.Kinds() {
		it, err := w.watch.Store.Get(ctx, token.DefaultTable, token.Key(k, appKey))
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				w.count("token reads failed")
			}
			continue
		}
		var e token.Entry
		if err := json.Unmarshal(it.Value, &e); err != nil {
			w.problem("stored %s does not parse: %v", k, err)
			continue
		}
		w.mu.Lock()
		n, known := w.issued[e.Value]
		last, seen := w.lastToken[k]
		switch {
		case !known:
			w.problems = append(w.problems, fmt.Sprintf("after %s: the stored %s is none the fake issued", after, k))
		case seen && n < last:
			w.problems = append(w.problems, fmt.Sprintf("after %s: the stored %s went back from the fake's #%d to #%d", after, k, last, n))
		default:
			w.lastToken[k] = n
		}
		w.mu.Unlock()
	}
}

// noticeParts reads a notice's parts through notify's API.
func (w *world) noticeParts(ctx context.Context, id string) ([]noticePart, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, w.notifyURLs[0]+"/v1/notices/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+notifyKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET notice %s: HTTP %d", id, res.StatusCode)
	}
	var st struct {
		Parts []noticePart `json:"parts"`
	}
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		return nil, err
	}
	return st.Parts, nil
}

type noticePart struct {
	N     int    `json:"n"`
	State string `json:"state"`
	Error string `json:"error"`
}
