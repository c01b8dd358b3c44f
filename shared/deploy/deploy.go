package deploy

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/dingfn/dingfn/shared/config"
	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/notify"
	"github.com/dingfn/dingfn/shared/platform"
	"github.com/dingfn/dingfn/shared/store"
)

// Platform is a deployment target.
type Platform string

// The supported platforms.
const (
	FC     Platform = "fc"
	Lambda Platform = "lambda"
)

// Runtime facts shared by every function of the bundle.
const (
	// FCRuntime is Function Compute's built-in Go runtime.
	FCRuntime = "go1"
	// FCHandler is the executable name; on go1 the handler is the file FC
	// executes from the code directory.
	FCHandler = "main"
	// LambdaRuntime is the OS-only runtime Go functions use on Lambda.
	LambdaRuntime = "provided.al2023"
	// LambdaHandler is the executable provided.al2023 starts.
	LambdaHandler = "bootstrap"
	// LambdaArch is Graviton: cheaper per GB-second than x86_64 and fast
	// to cold-start for a static Go binary.
	LambdaArch = "arm64"
	// DistDir is where `make build` writes artifacts, relative to the
	// repository root.
	DistDir = "dist"
)

// DeployVar is a variable read by a deploy tool, not by the functions: it
// shapes the deployment (where, under which name, with which role).
type DeployVar struct {
	Name     string
	Platform Platform
	// Default is what s.yaml falls back to; "" means the deployer must set it.
	Default string
	Doc     string
}

// deployVars are the variables s.yaml reads besides the configuration
// contract. On Lambda the same choices are `sam deploy` options (stack
// name, region), so there are none.
var deployVars = []DeployVar{
	{Name: "DINGFN_FC_ACCESS", Platform: FC, Default: "default", Doc: "Serverless Devs access alias (s config add) to deploy with"},
	{Name: "DINGFN_FC_REGION", Platform: FC, Default: "cn-hangzhou", Doc: "FC region; put the functions in the Tablestore instance's region"},
	{Name: "DINGFN_FC_NAME", Platform: FC, Default: "dingfn", Doc: "function name prefix, one per environment (dingfn-dev, dingfn-prod)"},
	{Name: "DINGFN_FC_ROLE_ARN", Platform: FC, Doc: "RAM role the functions run as (acs:ram::<account-id>:role/<name>); FC derives the Tablestore credentials from it"},
}

// DeployVars returns the deploy-time variables of the descriptors.
func DeployVars() []DeployVar { return slices.Clone(deployVars) }

// Function is one deployable function and everything the descriptors say
// about it.
type Function struct {
	Name config.Function
	// LogicalID names the function in template.yaml; SAM builds it with
	// the Makefile target build-<LogicalID>.
	LogicalID string
	// Description is the one-line purpose both descriptors show.
	Description string

	// HTTPMethods are the methods of an HTTP entry point; nil for timers.
	HTTPMethods []string
	// Gate lists the variables the function authenticates requests with.
	// An HTTP entry point may be anonymous at the platform level only
	// because the function itself checks every request against these.
	Gate []string

	// Every is a timer's period; zero for HTTP functions.
	Every time.Duration
	// Offset delays each tick past the period boundary, so timers that
	// share a period do not call DingTalk in the same second.
	Offset time.Duration
	// Payload is the JSON a timer passes (FC trigger payload, Lambda
	// Schedule Input).
	Payload string
	// Overlapping says a timer's ticks may start while an earlier one is
	// still working, so its Timeout may exceed its period: every step of
	// the function holds a store lease (shared/schedule), and a tick that
	// overlaps a long run skips what that run holds instead of repeating
	// it.
	Overlapping bool
	// Retries is how often the platform re-runs a failed timer invocation
	// (both platforms invoke timers asynchronously and retry by default).
	// Retries and queued ticks expire after one period: by then the next
	// tick has started and an old one would only overlap it.
	Retries int

	// Timeout is the platform's hard limit for one invocation.
	Timeout time.Duration
	// FCMemoryMB and FCCPU size the FC instance; FC requires memory (GB)
	// between 1 and 4 times the vCPUs.
	FCMemoryMB int
	FCCPU      float64
	// LambdaMemoryMB sizes the Lambda function; CPU scales with it.
	LambdaMemoryMB int
	// MaxInstances caps how many instances run at once (FC
	// concurrencyConfig.reservedConcurrency, Lambda
	// ReservedConcurrentExecutions); zero leaves the platform's default.
	MaxInstances int
}

// bundle is the description. Numbers are chosen, not derived; the reasons
// are next to each.
var bundle = []Function{
	{
		Name:        config.Callback,
		LogicalID:   "CallbackFunction",
		Description: "dingfn callback: verifies and decrypts DingTalk events, answers within 1500 ms",
		HTTPMethods: []string{"POST"},
		// DingTalk cannot sign cloud requests; the callback signature
		// (token) and the AES key are the gate.
		Gate: []string{"DINGTALK_CALLBACK_TOKEN", "DINGTALK_CALLBACK_AES_KEY"},
		// DingTalk gives up after 1500 ms and retries; a run that is late
		// must still finish recording the event, so the hard limit sits
		// well above the deadline but far below anything that would hide
		// a hung store call.
		Timeout: 5 * time.Second,
		// More CPU shortens cold starts and the decrypt/verify path.
		FCMemoryMB: 512, FCCPU: 0.5,
		LambdaMemoryMB: 512,
	},
	{
		Name:        config.Notify,
		LogicalID:   "NotifyFunction",
		Description: "dingfn notify: authenticated API for work notices and group-robot messages",
		HTTPMethods: []string{"GET", "POST", "DELETE"},
		Gate:        []string{"NOTIFY_API_KEYS"},
		// API Gateway HTTP APIs cut integrations at 30 s; stay under it
		// so the caller gets our answer, not a gateway 503.
		Timeout:    29 * time.Second,
		FCMemoryMB: 512, FCCPU: 0.35,
		LambdaMemoryMB: 256,
		// DingTalk's per-app QPS is shared by every instance; each
		// instance's client stays at notify.InstanceRateLimit, so the
		// number of instances bounds the app's total rate.
		MaxInstances: notify.MaxInstances,
	},
	{
		Name:        config.Sync,
		LogicalID:   "SyncFunction",
		Description: "dingfn sync: rate-limited mirror of the DingTalk directory into the store",
		// Each tick runs the steps that are due (shared/schedule): the
		// directory walk every DINGFN_SYNC_INTERVAL, or the continuation of
		// an unfinished one; a tick with nothing due costs one store read.
		Every:       time.Minute,
		Overlapping: true,
		Payload:     `{"job":"sync"}`,
		// A failed tick is not retried: the next tick, a minute later, is
		// the retry, and resumes from the walk's checkpoint.
		Retries: 0,
		// Lambda's maximum. A large directory at DingTalk's rate limits
		// needs minutes; the walk saves its place before the deadline, and
		// the ticks that fire meanwhile find its lease held and skip it.
		Timeout:    15 * time.Minute,
		FCMemoryMB: 512, FCCPU: 0.35,
		LambdaMemoryMB: 512,
	},
	{
		Name:        config.TokenRefresher,
		LogicalID:   "TokenRefresherFunction",
		Description: "dingfn token-refresher: keeps access_token and jsapi_ticket fresh in the shared store",
		// access_token and jsapi_ticket live 7200 s; a 10-minute tick
		// refreshes well inside the early-refresh margin and survives a
		// few failed ticks.
		Every:   10 * time.Minute,
		Payload: `{"job":"token-refresher"}`,
		// A failed refresh is cheap to repeat and worth repeating soon.
		Retries:    2,
		Timeout:    time.Minute,
		FCMemoryMB: 256, FCCPU: 0.2,
		LambdaMemoryMB: 128,
	},
}

// Bundle returns the four functions in config.Functions() order.
func Bundle() []Function {
	out := slices.Clone(bundle)
	for i := range out {
		f := &out[i]
		f.HTTPMethods = slices.Clone(f.HTTPMethods)
		f.Gate = slices.Clone(f.Gate)
	}
	return out
}

// Lookup returns the description of one function.
func Lookup(name config.Function) (Function, bool) {
	for _, f := range Bundle() {
		if f.Name == name {
			return f, true
		}
	}
	return Function{}, false
}

// IsTimer reports whether the function runs on a schedule rather than on
// HTTP requests.
func (f Function) IsTimer() bool { return f.Every > 0 }

// FCCodeDir is the directory s.yaml deploys as the function's code,
// relative to the repository root.
func (f Function) FCCodeDir() string { return path.Join(DistDir, "fc", string(f.Name)) }

// FCArtifact is the executable `make build` writes for FC.
func (f Function) FCArtifact() string { return path.Join(f.FCCodeDir(), FCHandler) }

// LambdaArtifact is the executable `make build` writes for Lambda.
func (f Function) LambdaArtifact() string {
	return path.Join(DistDir, "lambda", string(f.Name), LambdaHandler)
}

// MaxEventAge is how long a timer invocation (first run or retry) may wait
// in the platform's queue: one period. Zero for HTTP functions.
func (f Function) MaxEventAge() time.Duration { return f.Every }

// FCMakeTarget builds the FC artifact; s.yaml runs it before deploying.
func (f Function) FCMakeTarget() string { return "build-fc-" + string(f.Name) }

// LambdaMakeTarget builds the Lambda artifact into dist/.
func (f Function) LambdaMakeTarget() string { return "build-lambda-" + string(f.Name) }

// SAMMakeTarget is the target SAM's makefile builder runs.
func (f Function) SAMMakeTarget() string { return "build-" + f.LogicalID }

// FCCron is the six-field cron expression (seconds first, UTC) of an FC
// timer trigger, or "" for HTTP functions.
func (f Function) FCCron() string {
	m := f.minuteField("*")
	if m == "" {
		return ""
	}
	return "0 " + m + " * * * *"
}

// LambdaSchedule is the EventBridge schedule expression of a Lambda
// Schedule event, or "" for HTTP functions.
func (f Function) LambdaSchedule() string {
	m := f.minuteField("0")
	if m == "" {
		return ""
	}
	return "cron(" + m + " * * * ? *)"
}

// minuteField renders Every and Offset as a cron minute field; start is
// the step base each dialect documents ("*/10" on FC, "0/10" on AWS).
// Periods must divide an hour: both platforms' cron restarts each hour.
func (f Function) minuteField(start string) string {
	if !f.IsTimer() {
		return ""
	}
	every := int(f.Every / time.Minute)
	off := int(f.Offset / time.Minute)
	if f.Every%time.Minute != 0 || every <= 0 || 60%every != 0 || off < 0 || off >= every {
		panic(fmt.Sprintf("deploy: %s: period %v offset %v cannot be a cron minute field", f.Name, f.Every, f.Offset))
	}
	switch {
	case every == 1:
		return "*"
	case off == 0:
		return fmt.Sprintf("%s/%d", start, every)
	}
	var mins []string
	for m := off; m < 60; m += every {
		mins = append(mins, fmt.Sprint(m))
	}
	return strings.Join(mins, ",")
}

// roleInjected are the variables Function Compute sets from the function's
// RAM role (temporary STS credentials, rotated by FC). Wiring them in
// s.yaml would replace rotated credentials with long-lived keys.
var roleInjected = []string{
	platform.EnvAccessKeyID,
	platform.EnvAccessKeySecret,
	platform.EnvSecurityToken,
}

// RoleInjected reports whether platform p fills variable name from the
// function's role, so the descriptor must not wire it.
func RoleInjected(p Platform, name string) bool {
	return p == FC && slices.Contains(roleInjected, name)
}

// Env returns the contract variables a descriptor for platform p wires for
// function fn: every variable fn uses, minus those p injects itself.
func Env(p Platform, fn config.Function) []config.Var {
	var out []config.Var
	for _, v := range config.Vars() {
		if slices.Contains(v.UsedBy, fn) && !RoleInjected(p, v.Name) {
			out = append(out, v)
		}
	}
	return out
}

// cloudDefaults are the values the descriptors fall back to when the
// deployer leaves an optional variable unset. They differ from the local
// defaults only where the local default cannot work in a function: FC and
// Lambda file systems are read-only or ephemeral, so the embedded bolt
// store would lose data.
var cloudDefaults = map[string]string{
	"DINGFN_STORE":        string(config.StoreTablestore),
	"DINGTALK_OAPI_URL":   dingtalk.DefaultOAPIBaseURL,
	"DINGTALK_API_URL":    dingtalk.DefaultAPIBaseURL,
	"DINGFN_TABLE_PREFIX": store.DefaultTablePrefix,
	// Written out so an operator reading a descriptor sees the defaults.
	"DINGFN_SYNC_INTERVAL":   "30m",
	"DINGFN_SYNC_MAX_DELETE": directory.DefaultDeleteLimit.String(),
}

// storeNeeds are the variables the cloud default store (Tablestore)
// cannot start without.
var storeNeeds = []string{
	"TABLESTORE_ENDPOINT",
	"TABLESTORE_INSTANCE",
	platform.EnvAccessKeyID,
	platform.EnvAccessKeySecret,
}

// Required reports whether a deployment must supply the variable: some
// function of the bundle needs it, or the default store does. One stack
// parameter or one exported variable feeds every function that uses it,
// so "required" is a property of the bundle, not of one function.
func Required(v config.Var) bool {
	if slices.Contains(storeNeeds, v.Name) {
		return true
	}
	for _, fn := range config.Functions() {
		if v.Needs(fn) {
			return true
		}
	}
	return false
}

// Fallback returns the default a descriptor gives variable v, and false
// when it must have none because the deployment has to supply the value.
// Optional variables without a cloud default fall back to "" explicitly,
// so an unset variable never stops a deploy and the function applies its
// own default. Secrets are never given a non-empty fallback.
func Fallback(v config.Var) (string, bool) {
	if Required(v) {
		return "", false
	}
	if d, ok := cloudDefaults[v.Name]; ok && !v.Secret {
		return d, true
	}
	return "", true
}

// ParameterName is the SAM parameter that carries variable name:
// DINGTALK_APP_KEY becomes DingtalkAppKey (CloudFormation parameter names
// are alphanumeric).
func ParameterName(name string) string {
	var b strings.Builder
	for part := range strings.SplitSeq(strings.ToLower(name), "_") {
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]))
		b.WriteString(part[1:])
	}
	return b.String()
}
