package deploy_test

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/config"
	"github.com/dingfn/dingfn/shared/deploy"
	"github.com/dingfn/dingfn/shared/notify"
)

// callbackDeadline is how long DingTalk waits for the encrypted success.
const callbackDeadline = 1500 * time.Millisecond

// lambdaMaxTimeout is Lambda's ceiling for one invocation.
const lambdaMaxTimeout = 15 * time.Minute

func contractVar(t *testing.T, name string) config.Var {
	t.Helper()
	for _, v := range config.Vars() {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("%s is not in the configuration contract (config.Vars)", name)
	return config.Var{}
}

func TestBundleCoversTheFunctions(t *testing.T) {
	var names []config.Function
	for _, f := range deploy.Bundle() {
		names = append(names, f.Name)
	}
	if !slices.Equal(names, config.Functions()) {
		t.Fatalf("bundle functions = %v, want config.Functions() %v", names, config.Functions())
	}
	ids := map[string]bool{}
	logical := regexp.MustCompile(`^[A-Z][A-Za-z]*Function$`)
	for _, f := range deploy.Bundle() {
		if !logical.MatchString(f.LogicalID) || ids[f.LogicalID] {
			t.Errorf("%s: logical id %q must be unique and look like XxxFunction", f.Name, f.LogicalID)
		}
		ids[f.LogicalID] = true
		if got, ok := deploy.Lookup(f.Name); !ok || got.LogicalID != f.LogicalID {
			t.Errorf("Lookup(%s) = %+v, %v", f.Name, got, ok)
		}
	}
	if _, ok := deploy.Lookup("nope"); ok {
		t.Error("Lookup of an unknown function succeeded")
	}
}

func TestBundleIsACopy(t *testing.T) {
	b := deploy.Bundle()
	b[0].HTTPMethods[0] = "PATCH"
	b[0].Timeout = time.Hour
	if f, _ := deploy.Lookup(b[0].Name); f.HTTPMethods[0] == "PATCH" || f.Timeout == time.Hour {
		t.Fatal("changing Bundle's result changed the description")
	}
}

// Every function is reached one way: HTTP with a gate, or a timer with a
// JSON payload.
func TestEntryPoints(t *testing.T) {
	for _, f := range deploy.Bundle() {
		t.Run(string(f.Name), func(t *testing.T) {
			if f.IsTimer() {
				if len(f.HTTPMethods) != 0 || len(f.Gate) != 0 {
					t.Errorf("timer function has HTTP methods %v / gate %v", f.HTTPMethods, f.Gate)
				}
				if !json.Valid([]byte(f.Payload)) {
					t.Errorf("payload %q is not JSON", f.Payload)
				}
				// Runs must not pile up: a timer ends within its period,
				// or (sync) leases its steps so overlapping ticks skip them.
				if f.Timeout >= f.Every && !f.Overlapping {
					t.Errorf("timeout %v must be shorter than the period %v so runs do not pile up", f.Timeout, f.Every)
				}
				if f.Overlapping != (f.Name == config.Sync) {
					t.Errorf("Overlapping = %v: only sync runs its work under leases (shared/schedule)", f.Overlapping)
				}
				// Both platforms' limits: Lambda allows 0-2 retries and
				// an event age of 60 s to 6 h.
				if f.Retries < 0 || f.Retries > 2 || f.MaxEventAge() < time.Minute || f.MaxEventAge() > 6*time.Hour {
					t.Errorf("retries %d, max event age %v outside the platforms' limits", f.Retries, f.MaxEventAge())
				}
				return
			}
			if len(f.HTTPMethods) == 0 || f.Payload != "" || f.Offset != 0 || f.Retries != 0 || f.MaxEventAge() != 0 {
				t.Errorf("HTTP function: methods %v, payload %q, offset %v, retries %d", f.HTTPMethods, f.Payload, f.Offset, f.Retries)
			}
			// An HTTP entry point is anonymous at the platform level, so
			// the function must require a secret to check requests with.
			if len(f.Gate) == 0 {
				t.Error("HTTP function without a gate")
			}
			for _, name := range f.Gate {
				v := contractVar(t, name)
				if !v.Secret || !v.Needs(f.Name) {
					t.Errorf("gate %s must be a secret %s needs (Secret=%v NeededBy=%v)", name, f.Name, v.Secret, v.NeededBy)
				}
			}
		})
	}
}

func TestTimeoutsAndSizes(t *testing.T) {
	for _, f := range deploy.Bundle() {
		t.Run(string(f.Name), func(t *testing.T) {
			if f.Timeout <= 0 || f.Timeout > lambdaMaxTimeout || f.Timeout%time.Second != 0 {
				t.Errorf("timeout %v: want whole seconds in (0, %v]", f.Timeout, lambdaMaxTimeout)
			}
			// FC: memory a multiple of 64 MB, vCPU a multiple of 0.05,
			// memory in GB between 1 and 4 times the vCPUs.
			if f.FCMemoryMB < 128 || f.FCMemoryMB%64 != 0 {
				t.Errorf("FC memory %d MB", f.FCMemoryMB)
			}
			if steps := f.FCCPU / 0.05; f.FCCPU < 0.05 || math.Abs(steps-math.Round(steps)) > 1e-9 {
				t.Errorf("FC vCPU %v is not a multiple of 0.05", f.FCCPU)
			}
			if ratio := float64(f.FCMemoryMB) / 1024 / f.FCCPU; ratio < 1 || ratio > 4 {
				t.Errorf("FC memory/vCPU = %.2f GB per vCPU, want 1..4", ratio)
			}
			if f.LambdaMemoryMB < 128 || f.LambdaMemoryMB > 10240 {
				t.Errorf("Lambda memory %d MB", f.LambdaMemoryMB)
			}
		})
	}
	cb, _ := deploy.Lookup(config.Callback)
	// Long enough for a cold start plus a slow store write to finish
	// recording an event DingTalk already gave up on; short enough that a
	// hung call is cut off quickly.
	if cb.Timeout <= 2*callbackDeadline || cb.Timeout > 10*time.Second {
		t.Errorf("callback timeout %v: want in (%v, 10s]", cb.Timeout, 2*callbackDeadline)
	}
	nt, _ := deploy.Lookup(config.Notify)
	if nt.Timeout >= 30*time.Second {
		t.Errorf("notify timeout %v must stay under API Gateway's 30 s integration limit", nt.Timeout)
	}
}

func TestSchedules(t *testing.T) {
	tests := []struct {
		name       config.Function
		every      time.Duration
		fcCron     string
		lambdaCron string
	}{
		{config.Callback, 0, "", ""},
		{config.Notify, 0, "", ""},
		{config.Sync, time.Minute, "0 * * * * *", "cron(* * * * ? *)"},
		{config.TokenRefresher, 10 * time.Minute, "0 */10 * * * *", "cron(0/10 * * * ? *)"},
	}
	for _, tt := range tests {
		t.Run(string(tt.name), func(t *testing.T) {
			f, _ := deploy.Lookup(tt.name)
			if f.Every != tt.every {
				t.Errorf("Every = %v, want %v", f.Every, tt.every)
			}
			if got := f.FCCron(); got != tt.fcCron {
				t.Errorf("FCCron() = %q, want %q", got, tt.fcCron)
			}
			if got := f.LambdaSchedule(); got != tt.lambdaCron {
				t.Errorf("LambdaSchedule() = %q, want %q", got, tt.lambdaCron)
			}
			if !f.IsTimer() {
				return
			}
			for _, expr := range []string{f.FCCron(), f.LambdaSchedule()} {
				p, err := cronPeriod(expr)
				if err != nil || p != f.Every {
					t.Errorf("cronPeriod(%q) = %v, %v; want %v", expr, p, err, f.Every)
				}
			}
		})
	}
}

func TestScheduleRejectsPeriodsCronCannotExpress(t *testing.T) {
	for _, every := range []time.Duration{7 * time.Minute, 90 * time.Second, 2 * time.Hour} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("FCCron with period %v did not panic", every)
				}
			}()
			_ = deploy.Function{Name: "x", Every: every}.FCCron()
		}()
	}
}

func TestCronPeriod(t *testing.T) {
	tests := []struct {
		expr string
		want time.Duration // 0: error
	}{
		{"@every 10m", 10 * time.Minute},
		{"0 */10 * * * *", 10 * time.Minute},
		{"0 0/15 * * * *", 15 * time.Minute},
		{"0 5,35 * * * *", 30 * time.Minute},
		{"0 7 * * * *", time.Hour},
		{"0 * * * * *", time.Minute},
		{"cron(* * * * ? *)", time.Minute},
		{"cron(0/10 * * * ? *)", 10 * time.Minute},
		{"cron(5,35 * * * ? *)", 30 * time.Minute},
		{"*/10 * * * *", 0},         // five fields: minutes first, not FC's format
		{"0 5,20 * * * *", 0},       // uneven
		{"*/5 * * * * *", 0},        // every 5 seconds
		{"0 */10 8 * * *", 0},       // only at 08:xx
		{"cron(0/10 * * * * *)", 0}, // EventBridge needs a ?
		{"0 61 * * * *", 0},
		{"@every soon", 0},
	}
	for _, tt := range tests {
		got, err := cronPeriod(tt.expr)
		if tt.want == 0 {
			if err == nil {
				t.Errorf("cronPeriod(%q) = %v, want an error", tt.expr, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("cronPeriod(%q) = %v, %v; want %v", tt.expr, got, err, tt.want)
		}
	}
}

func TestArtifactPaths(t *testing.T) {
	f, _ := deploy.Lookup(config.TokenRefresher)
	tests := []struct{ got, want string }{
		{f.FCCodeDir(), "dist/fc/token-refresher"},
		{f.FCArtifact(), "dist/fc/token-refresher/main"},
		{f.LambdaArtifact(), "dist/lambda/token-refresher/bootstrap"},
		{f.FCMakeTarget(), "build-fc-token-refresher"},
		{f.LambdaMakeTarget(), "build-lambda-token-refresher"},
		{f.SAMMakeTarget(), "build-TokenRefresherFunction"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestParameterName(t *testing.T) {
	tests := []struct{ env, want string }{
		{"DINGTALK_APP_KEY", "DingtalkAppKey"},
		{"DINGTALK_CALLBACK_AES_KEY", "DingtalkCallbackAesKey"},
		{"ALIBABA_CLOUD_ACCESS_KEY_ID", "AlibabaCloudAccessKeyId"},
		{"NOTIFY_API_KEYS", "NotifyApiKeys"},
	}
	for _, tt := range tests {
		if got := deploy.ParameterName(tt.env); got != tt.want {
			t.Errorf("ParameterName(%q) = %q, want %q", tt.env, got, tt.want)
		}
	}
	// Distinct variables must never share a parameter.
	seen := map[string]string{}
	for _, v := range config.Vars() {
		p := deploy.ParameterName(v.Name)
		if other, ok := seen[p]; ok {
			t.Errorf("%s and %s both map to parameter %s", other, v.Name, p)
		}
		seen[p] = v.Name
	}
}

func TestEnv(t *testing.T) {
	for _, fn := range config.Functions() {
		for _, p := range []deploy.Platform{deploy.FC, deploy.Lambda} {
			got := map[string]bool{}
			for _, v := range deploy.Env(p, fn) {
				got[v.Name] = true
				if !slices.Contains(v.UsedBy, fn) {
					t.Errorf("Env(%s, %s) has %s, which %s does not use", p, fn, v.Name, fn)
				}
			}
			for _, v := range config.Vars() {
				want := slices.Contains(v.UsedBy, fn) && !deploy.RoleInjected(p, v.Name)
				if got[v.Name] != want {
					t.Errorf("Env(%s, %s) includes %s = %v, want %v", p, fn, v.Name, got[v.Name], want)
				}
			}
		}
	}
	// On FC the role supplies Tablestore credentials; on Lambda nothing does.
	for _, name := range []string{"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN"} {
		contractVar(t, name)
		if !deploy.RoleInjected(deploy.FC, name) || deploy.RoleInjected(deploy.Lambda, name) {
			t.Errorf("RoleInjected(%s): want FC only", name)
		}
	}
}

func TestFallback(t *testing.T) {
	for _, v := range config.Vars() {
		d, ok := deploy.Fallback(v)
		switch {
		case deploy.Required(v):
			if ok {
				t.Errorf("required %s has fallback %q", v.Name, d)
			}
			continue
		case !ok:
			t.Errorf("optional %s has no fallback", v.Name)
			continue
		case v.Secret && d != "":
			t.Errorf("secret %s falls back to %q", v.Name, d)
		case v.Name == "DINGFN_STORE":
			// The one deliberate difference from local defaults: bolt
			// on a function's ephemeral disk would lose data.
			if d != string(config.StoreTablestore) {
				t.Errorf("DINGFN_STORE falls back to %q, want tablestore", d)
			}
		case d != "" && d != v.Default:
			t.Errorf("%s: fallback %q differs from the contract's default %q", v.Name, d, v.Default)
		}
		// The fallback must be a value config.Load accepts.
		env := map[string]string{"TABLESTORE_ENDPOINT": "https://i.cn-hangzhou.ots.aliyuncs.com", "TABLESTORE_INSTANCE": "i",
			"ALIBABA_CLOUD_ACCESS_KEY_ID": "id", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "secret"}
		env[v.Name] = d
		_, err := config.Load(config.TokenRefresher, func(k string) string { return env[k] })
		var cerr *config.Error
		if errors.As(err, &cerr) {
			for _, p := range cerr.Problems {
				if p.Var == v.Name {
					t.Errorf("fallback %s=%q rejected: %s", v.Name, d, p.Reason)
				}
			}
		}
	}
	// The cloud default store is Tablestore: what it needs is required.
	for name, want := range map[string]bool{
		"TABLESTORE_ENDPOINT": true, "TABLESTORE_INSTANCE": true,
		"ALIBABA_CLOUD_ACCESS_KEY_ID": true, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": true,
		"ALIBABA_CLOUD_SECURITY_TOKEN": false, "DINGTALK_CALLBACK_OWNER_KEY": false,
		"DINGTALK_APP_SECRET": true, "NOTIFY_API_KEYS": true,
	} {
		if got := deploy.Required(contractVar(t, name)); got != want {
			t.Errorf("Required(%s) = %v, want %v", name, got, want)
		}
	}
	// Without a store named, the functions would use bolt on local disk.
	for _, name := range []string{"DINGFN_STORE", "TABLESTORE_ENDPOINT", "TABLESTORE_INSTANCE"} {
		v := contractVar(t, name)
		if d, ok := deploy.Fallback(v); name == "DINGFN_STORE" && d != "tablestore" || name != "DINGFN_STORE" && ok {
			t.Errorf("Fallback(%s) = %q, %v", name, d, ok)
		}
	}
}

// TestNotifyStaysUnderTheAppLimit: DingTalk's QPS limit is per app, so
// the client-side limits of every process sending work notices (notify's
// instances and the sync tick's notices step) added up must stay within it.
func TestNotifyStaysUnderTheAppLimit(t *testing.T) {
	f, ok := deploy.Lookup(config.Notify)
	if !ok {
		t.Fatal("no notify")
	}
	lim := notify.InstanceRateLimit
	perSecond := float64(lim.Limit) + float64(lim.Burst)
	senders := f.MaxInstances + 1 // the sync tick's notices step
	if f.MaxInstances < 1 || float64(senders)*perSecond > notify.AppQPS {
		t.Errorf("%d senders × (%v/s + burst %d) = %v calls in a second, over DingTalk's %d per app",
			senders, lim.Limit, lim.Burst, float64(senders)*perSecond, notify.AppQPS)
	}
}

// SourceTree finds the tree from inside it only when asked to walk up, and
// never takes another module's go.mod for dingfn's.
func TestSourceTree(t *testing.T) {
	root := repoRoot(t)
	sub := filepath.Join(root, "shared", "deploy")
	if got, ok := deploy.SourceTree(sub, true); !ok || got != root {
		t.Errorf("walking up from %s: %q, %v; want %q", sub, got, ok, root)
	}
	if got, ok := deploy.SourceTree(sub, false); ok {
		t.Errorf("from %s without walking up: %q, want none", sub, got)
	}
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, ok := deploy.SourceTree(other, false); ok {
		t.Errorf("another module's tree taken for dingfn's: %q", got)
	}
}
