package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/dingfn/dingfn/shared/config"
	"github.com/dingfn/dingfn/shared/deploy"
)

// sFile is the part of the Serverless Devs format s.yaml uses. Decoding
// with KnownFields rejects any key this test does not check, so a typo in
// s.yaml cannot pass silently.
type sFile struct {
	Edition   string               `yaml:"edition"`
	Name      string               `yaml:"name"`
	Access    string               `yaml:"access"`
	Vars      map[string]string    `yaml:"vars"`
	Resources map[string]sResource `yaml:"resources"`
}

type sResource struct {
	Component string               `yaml:"component"`
	Actions   map[string][]sAction `yaml:"actions"`
	Props     fcProps              `yaml:"props"`
}

type sAction struct {
	Run  string `yaml:"run"`
	Path string `yaml:"path"`
}

// fcProps are the fc3 component's function properties s.yaml sets.
type fcProps struct {
	Region            string         `yaml:"region"`
	FunctionName      string         `yaml:"functionName"`
	Description       string         `yaml:"description"`
	Runtime           string         `yaml:"runtime"`
	Code              string         `yaml:"code"`
	Handler           string         `yaml:"handler"`
	Role              string         `yaml:"role"`
	InternetAccess    *bool          `yaml:"internetAccess"`
	CPU               float64        `yaml:"cpu"`
	MemorySize        int            `yaml:"memorySize"`
	DiskSize          int            `yaml:"diskSize"`
	Timeout           int            `yaml:"timeout"`
	LogConfig         any            `yaml:"logConfig"`
	AsyncInvokeConfig *fcAsyncConfig `yaml:"asyncInvokeConfig"`
	ConcurrencyConfig *struct {
		ReservedConcurrency int `yaml:"reservedConcurrency"`
	} `yaml:"concurrencyConfig"`
	EnvironmentVariables map[string]string `yaml:"environmentVariables"`
	Triggers             []fcTrigger       `yaml:"triggers"`
}

type fcAsyncConfig struct {
	MaxAsyncRetryAttempts     *int `yaml:"maxAsyncRetryAttempts"`
	MaxAsyncEventAgeInSeconds *int `yaml:"maxAsyncEventAgeInSeconds"`
}

type fcTrigger struct {
	TriggerName   string          `yaml:"triggerName"`
	TriggerType   string          `yaml:"triggerType"`
	Description   string          `yaml:"description"`
	TriggerConfig fcTriggerConfig `yaml:"triggerConfig"`
}

// fcTriggerConfig is the union of the HTTP and timer trigger configs.
type fcTriggerConfig struct {
	AuthType           string   `yaml:"authType"`
	Methods            []string `yaml:"methods"`
	DisableURLInternet *bool    `yaml:"disableURLInternet"`
	CronExpression     string   `yaml:"cronExpression"`
	Enable             *bool    `yaml:"enable"`
	Payload            string   `yaml:"payload"`
}

func loadSYAML(t *testing.T) (*sFile, []byte) {
	t.Helper()
	data := readRepoFile(t, "s.yaml")
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var s sFile
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("s.yaml: %v", err)
	}
	return &s, data
}

// envRef matches one whole-value ${env('NAME')} or ${env('NAME', 'default')}.
var envRef = regexp.MustCompile(`^\$\{env\('([A-Za-z0-9_]+)'(?:\s*,\s*'([^']*)')?\)\}$`)

// magic matches any Serverless Devs magic variable inside a value.
var magic = regexp.MustCompile(`\$\{([^{}]*)\}`)

// resolveMagic evaluates the magic variables s.yaml uses the way `s`
// would with an empty environment: env defaults apply, env variables
// without a default become a visible placeholder, vars are substituted.
// Any other magic variable is an error, so this test never misreads one.
func resolveMagic(s string, vars map[string]string, depth int) (string, error) {
	if depth > 5 {
		return "", errors.New("magic variables nest too deep")
	}
	var firstErr error
	out := magic.ReplaceAllStringFunc(s, func(m string) string {
		inner := magic.FindStringSubmatch(m)[1]
		if sub := envRef.FindStringSubmatch(m); sub != nil {
			if strings.Contains(inner, ",") {
				return sub[2]
			}
			return "<" + sub[1] + ">"
		}
		if key, ok := strings.CutPrefix(inner, "vars."); ok {
			v, found := vars[key]
			if !found {
				firstErr = cmpErr(firstErr, fmt.Errorf("undefined %s", m))
				return m
			}
			r, err := resolveMagic(v, vars, depth+1)
			firstErr = cmpErr(firstErr, err)
			return r
		}
		firstErr = cmpErr(firstErr, fmt.Errorf("magic variable %s is not one this test understands", m))
		return m
	})
	return out, firstErr
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// resolveTree applies resolveMagic to every string in a decoded YAML tree.
func resolveTree(v any, vars map[string]string) (any, error) {
	switch x := v.(type) {
	case string:
		return resolveMagic(x, vars, 0)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := resolveTree(e, vars)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := resolveTree(e, vars)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = r
		}
		return out, nil
	default:
		return v, nil
	}
}

func TestResolveMagic(t *testing.T) {
	vars := map[string]string{"region": "${env('R', 'cn-hangzhou')}", "name": "dingfn", "loop": "${vars.loop}"}
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"${vars.region}", "cn-hangzhou", false},
		{"${vars.name}-sync", "dingfn-sync", false},
		{"${env('SECRET')}", "<SECRET>", false},
		{"${env('X', '')}", "", false},
		{"${vars.missing}", "", true},
		{"${vars.loop}", "", true},
		{"${config('AccountID')}", "", true},
	}
	for _, tt := range tests {
		got, err := resolveMagic(tt.in, vars, 0)
		if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
			t.Errorf("resolveMagic(%q) = %q, %v; want %q (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// TestSYAMLReadsOnlyKnownVariables: every ${env('X')} in s.yaml is a
// contract variable or a documented deploy variable, with the documented
// default, so the README's lists are complete.
func TestSYAMLReadsOnlyKnownVariables(t *testing.T) {
	_, data := loadSYAML(t)
	known := map[string]bool{}
	for _, v := range config.Vars() {
		known[v.Name] = true
	}
	deployDefaults := map[string]string{}
	for _, v := range deploy.DeployVars() {
		if v.Platform != deploy.FC || known[v.Name] {
			t.Errorf("deploy variable %s: platform %s, also in the contract %v", v.Name, v.Platform, known[v.Name])
		}
		deployDefaults[v.Name] = v.Default
	}
	seen := map[string]bool{}
	for _, m := range magic.FindAllString(string(data), -1) {
		sub := envRef.FindStringSubmatch(m)
		if sub == nil {
			continue
		}
		name := sub[1]
		seen[name] = true
		def, isDeploy := deployDefaults[name]
		switch {
		case known[name]:
		case !isDeploy:
			t.Errorf("s.yaml reads %s, which is neither a contract nor a deploy variable", name)
		case def == "" && strings.Contains(m, ","):
			t.Errorf("%s: %s has a default, but the deployer must set it", m, name)
		case def != "" && sub[2] != def:
			t.Errorf("%s: want default %q", m, def)
		}
	}
	for name := range deployDefaults {
		if !seen[name] {
			t.Errorf("deploy variable %s is documented but s.yaml does not read it", name)
		}
	}
}

func TestSYAML(t *testing.T) {
	s, _ := loadSYAML(t)
	if s.Edition != "3.0.0" {
		t.Errorf("edition = %q, want 3.0.0", s.Edition)
	}
	if s.Name == "" {
		t.Error("no application name")
	}
	var resources []string
	for name := range s.Resources {
		resources = append(resources, name)
	}
	slices.Sort(resources)
	var want []string
	for _, fn := range config.Functions() {
		want = append(want, string(fn))
	}
	slices.Sort(want)
	if !slices.Equal(resources, want) {
		t.Fatalf("resources = %v, want one per function %v", resources, want)
	}
	names := map[string]string{}
	fcName := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,63}$`)
	for _, f := range deploy.Bundle() {
		t.Run(string(f.Name), func(t *testing.T) {
			r := s.Resources[string(f.Name)]
			p := r.Props
			if r.Component != "fc3" {
				t.Errorf("component = %q, want fc3", r.Component)
			}
			// The resource builds its own executable before deploying.
			wantRun := sAction{Run: "make " + f.FCMakeTarget(), Path: "./"}
			if pre := r.Actions["pre-deploy"]; !slices.ContainsFunc(pre, func(a sAction) bool {
				return a.Run == wantRun.Run && path.Clean(a.Path) == "."
			}) {
				t.Errorf("pre-deploy = %+v, want a step %+v", pre, wantRun)
			}
			if p.Runtime != deploy.FCRuntime || p.Handler != deploy.FCHandler {
				t.Errorf("runtime/handler = %q/%q, want %q/%q", p.Runtime, p.Handler, deploy.FCRuntime, deploy.FCHandler)
			}
			// handler is the file FC runs from the code directory: the
			// code directory plus handler is what make writes.
			if got := path.Join(path.Clean(p.Code), p.Handler); got != f.FCArtifact() {
				t.Errorf("code %q + handler %q = %q, want the build output %q", p.Code, p.Handler, got, f.FCArtifact())
			}
			name, err := resolveMagic(p.FunctionName, s.Vars, 0)
			if err != nil || !fcName.MatchString(name) || !strings.HasSuffix(name, string(f.Name)) {
				t.Errorf("functionName %q resolves to %q (%v): want a valid FC name ending in %s", p.FunctionName, name, err, f.Name)
			}
			if other, dup := names[name]; dup {
				t.Errorf("functionName %q also used by %s", name, other)
			}
			names[name] = string(f.Name)
			if p.Description == "" {
				t.Error("no description")
			}
			// Tablestore credentials come from this role.
			if role, err := resolveMagic(p.Role, s.Vars, 0); err != nil || role == "" {
				t.Errorf("role %q resolves to %q, %v: FC needs a role to inject Tablestore credentials", p.Role, role, err)
			}
			if p.InternetAccess == nil || !*p.InternetAccess {
				t.Error("internetAccess must be true: the functions call DingTalk's public API")
			}
			if time.Duration(p.Timeout)*time.Second != f.Timeout {
				t.Errorf("timeout = %ds, want %v", p.Timeout, f.Timeout)
			}
			if p.MemorySize != f.FCMemoryMB || p.CPU != f.FCCPU || p.DiskSize != 512 {
				t.Errorf("memorySize/cpu/diskSize = %d/%v/%d, want %d/%v/512", p.MemorySize, p.CPU, p.DiskSize, f.FCMemoryMB, f.FCCPU)
			}
			if p.LogConfig == nil {
				t.Error("no logConfig: FC keeps no logs without one")
			}
			reserved := 0
			if p.ConcurrencyConfig != nil {
				reserved = p.ConcurrencyConfig.ReservedConcurrency
			}
			if reserved != f.MaxInstances {
				t.Errorf("concurrencyConfig.reservedConcurrency = %d, want %d", reserved, f.MaxInstances)
			}
			checkFCEnv(t, f, p.EnvironmentVariables)
			checkFCTriggers(t, f, p)
			// Timer runs are asynchronous invocations: their retries and
			// queue age are set, not left to FC's defaults (3 retries,
			// five hours), which would let stale runs overlap new ones.
			a := p.AsyncInvokeConfig
			switch {
			case !f.IsTimer() && a != nil:
				t.Error("asyncInvokeConfig on an HTTP function")
			case f.IsTimer() && (a == nil || a.MaxAsyncRetryAttempts == nil || a.MaxAsyncEventAgeInSeconds == nil):
				t.Errorf("asyncInvokeConfig = %+v, want retries and event age set", a)
			case f.IsTimer():
				if *a.MaxAsyncRetryAttempts != f.Retries || time.Duration(*a.MaxAsyncEventAgeInSeconds)*time.Second != f.MaxEventAge() {
					t.Errorf("asyncInvokeConfig = %d retries, %ds; want %d, %v", *a.MaxAsyncRetryAttempts, *a.MaxAsyncEventAgeInSeconds, f.Retries, f.MaxEventAge())
				}
			}
		})
	}
}

// checkFCEnv holds environmentVariables to the contract: exactly the
// variables the function uses minus the role-injected credentials, each
// taken from the deployer's environment variable of the same name.
func checkFCEnv(t *testing.T, f deploy.Function, env map[string]string) {
	t.Helper()
	want := map[string]config.Var{}
	for _, v := range deploy.Env(deploy.FC, f.Name) {
		want[v.Name] = v
	}
	for name := range env {
		if _, ok := want[name]; !ok {
			switch {
			case deploy.RoleInjected(deploy.FC, name):
				t.Errorf("%s is wired, but FC injects it from the role; wiring it would replace rotated STS credentials with static ones", name)
			default:
				t.Errorf("%s is wired but %s does not use it (config.Vars UsedBy)", name, f.Name)
			}
		}
	}
	for name, v := range want {
		val, ok := env[name]
		if !ok {
			t.Errorf("%s is not wired; %s uses it", name, f.Name)
			continue
		}
		m := envRef.FindStringSubmatch(val)
		if m == nil || m[1] != name {
			t.Errorf("%s = %q, want ${env('%s')} or ${env('%s', 'default')}: nothing is inlined", name, val, name, name)
			continue
		}
		hasDefault, def := strings.Contains(val, ","), m[2]
		want, wantDefault := deploy.Fallback(v)
		switch {
		case !wantDefault && hasDefault:
			t.Errorf("%s = %q: the deployment must supply it, so it must not default", name, val)
		case wantDefault && (!hasDefault || def != want):
			t.Errorf("%s = %q, want ${env('%s', '%s')}", name, val, name, want)
		}
	}
}

func checkFCTriggers(t *testing.T, f deploy.Function, p fcProps) {
	t.Helper()
	if len(p.Triggers) != 1 {
		t.Fatalf("%d triggers, want 1", len(p.Triggers))
	}
	tr := p.Triggers[0]
	c := tr.TriggerConfig
	if tr.TriggerName == "" {
		t.Error("trigger without a name")
	}
	if f.IsTimer() {
		if tr.TriggerType != "timer" {
			t.Fatalf("trigger type %q, want timer", tr.TriggerType)
		}
		if c.CronExpression != f.FCCron() {
			t.Errorf("cronExpression = %q, want %q", c.CronExpression, f.FCCron())
		}
		if every, err := cronPeriod(c.CronExpression); err != nil || every != f.Every {
			t.Errorf("cronExpression %q fires every %v (%v), want %v", c.CronExpression, every, err, f.Every)
		}
		if c.Enable == nil || !*c.Enable {
			t.Error("timer trigger not enabled")
		}
		if c.Payload != f.Payload || !json.Valid([]byte(c.Payload)) {
			t.Errorf("payload = %q, want %q", c.Payload, f.Payload)
		}
		if c.AuthType != "" || len(c.Methods) != 0 {
			t.Error("timer trigger with HTTP settings")
		}
		return
	}
	if tr.TriggerType != "http" {
		t.Fatalf("trigger type %q, want http", tr.TriggerType)
	}
	// anonymous is the only authType DingTalk (callback) and ordinary
	// HTTP clients (notify's bearer keys) can satisfy; the function's
	// gate secrets must then be wired, which checkFCEnv and the bundle's
	// own test ensure.
	if c.AuthType != "anonymous" {
		t.Errorf("authType = %q, want anonymous (the function authenticates with %v)", c.AuthType, f.Gate)
	}
	for _, g := range f.Gate {
		if _, ok := p.EnvironmentVariables[g]; !ok {
			t.Errorf("anonymous trigger but gate %s is not wired", g)
		}
	}
	got, want := slices.Sorted(slices.Values(c.Methods)), slices.Sorted(slices.Values(f.HTTPMethods))
	if !slices.Equal(got, want) {
		t.Errorf("methods = %v, want %v", c.Methods, f.HTTPMethods)
	}
	if c.DisableURLInternet == nil || *c.DisableURLInternet {
		t.Error("disableURLInternet must be false: DingTalk and clients call from the internet")
	}
	if c.CronExpression != "" || c.Payload != "" || c.Enable != nil {
		t.Error("HTTP trigger with timer settings")
	}
}

// TestSPreviewAgreesWithResolver renders s.yaml with Serverless Devs
// itself (`s preview`, no cloud access) when `s` is installed, and checks
// that resolveMagic, which the schema test relies on, renders every
// resource the same way. Variables without a default get resolveMagic's
// placeholders; all others are left unset so their defaults apply.
func TestSPreviewAgreesWithResolver(t *testing.T) {
	t.Parallel()
	sbin, err := exec.LookPath("s")
	if err != nil {
		t.Skip("Serverless Devs (s) is not on PATH; npm install -g @serverless-devs/s to run this check")
	}
	s, data := loadSYAML(t)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for _, m := range magic.FindAllString(string(data), -1) {
		if sub := envRef.FindStringSubmatch(m); sub != nil && !strings.Contains(m, ",") {
			env = append(env, sub[1]+"=<"+sub[1]+">")
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, sbin, "preview", "-o", "json", "--silent")
	cmd.Dir = repoRoot(t)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("s preview: %v\n%s%s", err, out, stderr.Bytes())
	}
	var rendered struct {
		Resources map[string]struct {
			Props map[string]any `json:"props"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(out, &rendered); err != nil {
		t.Fatalf("s preview output: %v\n%s", err, out)
	}
	var raw struct {
		Resources map[string]struct {
			Props map[string]any `yaml:"props"`
		} `yaml:"resources"`
	}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	if len(rendered.Resources) != len(raw.Resources) {
		t.Fatalf("s preview rendered %d resources, s.yaml has %d", len(rendered.Resources), len(raw.Resources))
	}
	for name, r := range raw.Resources {
		ours, err := resolveTree(r.Props, s.Vars)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(ours)
		b, _ := json.Marshal(rendered.Resources[name].Props)
		var x, y any
		_ = json.Unmarshal(a, &x)
		_ = json.Unmarshal(b, &y)
		if !reflect.DeepEqual(x, y) {
			t.Errorf("%s: resolveMagic renders\n%s\nbut s preview renders\n%s", name, a, b)
		}
	}
}

// fc3SchemaPath is the fc3 component's JSON schema, kept with the
// project's reference material beside (not inside) the repository.
func fc3SchemaPath(t *testing.T) string {
	return filepath.Join(repoRoot(t), "..", "shared", "reference", "fc3-schema.json")
}

// TestSYAMLMatchesFC3Schema validates every resource's props, with magic
// variables resolved as an empty environment would, against the fc3
// component's schema.
func TestSYAMLMatchesFC3Schema(t *testing.T) {
	schemaPath := fc3SchemaPath(t)
	f, err := os.Open(schemaPath)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("fc3 schema not found at %s: it ships with the dingfn development checkout's reference material, not with clones", schemaPath)
	}
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(f)
	f.Close()
	if err != nil {
		t.Fatalf("%s: %v", schemaPath, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("fc3-schema.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("fc3-schema.json")
	if err != nil {
		t.Fatal(err)
	}

	s, data := loadSYAML(t)
	var raw struct {
		Resources map[string]struct {
			Props map[string]any `yaml:"props"`
		} `yaml:"resources"`
	}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	for name, r := range raw.Resources {
		t.Run(name, func(t *testing.T) {
			props, err := resolveTree(r.Props, s.Vars)
			if err != nil {
				t.Fatal(err)
			}
			// Round-trip through JSON: the validator wants JSON values.
			b, err := json.Marshal(props)
			if err != nil {
				t.Fatal(err)
			}
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if err := schema.Validate(inst); err != nil {
				t.Errorf("props do not match the fc3 schema:\n%v", err)
			}
		})
	}
}

// TestFC3SchemaCatchesMistakes makes sure the schema test can fail: a
// broken copy of a resource must be rejected.
func TestFC3SchemaCatchesMistakes(t *testing.T) {
	schemaPath := fc3SchemaPath(t)
	b, err := os.ReadFile(schemaPath)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("fc3 schema not found at %s: it ships with the dingfn development checkout's reference material, not with clones", schemaPath)
	}
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("fc3-schema.json", doc); err != nil {
		t.Fatal(err)
	}
	schema := c.MustCompile("fc3-schema.json")
	valid := `{"region":"cn-hangzhou","functionName":"f","runtime":"go1","code":"./dist","handler":"main","memorySize":512,
		"triggers":[{"triggerName":"t","triggerType":"timer","triggerConfig":{"cronExpression":"@every 10m","enable":true}}]}`
	broken := map[string]string{
		"runtime":    `"go1.x"`,
		"region":     `"mars-1"`,
		"memorySize": `500`,
		"triggers":   `[{"triggerName":"t","triggerType":"cron","triggerConfig":{}}]`,
		"no handler": ``,
		// The schema's triggerConfig is an anyOf with permissive members,
		// so it cannot catch a bad authType or cron; TestSYAML checks those.
		"unnamed trigger": `[{"triggerType":"http","triggerConfig":{"authType":"anonymous","methods":["GET"]}}]`,
	}
	check := func(js string) error {
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(js))
		if err != nil {
			t.Fatal(err)
		}
		return schema.Validate(inst)
	}
	if err := check(valid); err != nil {
		t.Fatalf("valid props rejected: %v", err)
	}
	for field, val := range broken {
		var m map[string]any
		if err := json.Unmarshal([]byte(valid), &m); err != nil {
			t.Fatal(err)
		}
		switch {
		case field == "no handler":
			delete(m, "handler")
		case field == "unnamed trigger":
			m["triggers"] = json.RawMessage(val)
		default:
			m[field] = json.RawMessage(val)
		}
		js, _ := json.Marshal(m)
		if check(string(js)) == nil {
			t.Errorf("schema accepted props with a broken %s", field)
		}
	}
}
