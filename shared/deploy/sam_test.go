package deploy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/cloudformation/serverless"
	"github.com/awslabs/goformation/v7/intrinsics"

	"github.com/dingfn/dingfn/shared/config"
	"github.com/dingfn/dingfn/shared/deploy"
)

// Intrinsic functions are kept visible instead of resolved: goformation
// would resolve Ref to a parameter's default (or drop it), which would
// hide exactly the wiring these tests check. Ref becomes "ref:Name"
// (numbers resolve to their default, as goformation types them as int),
// Fn::GetAtt "getatt:Res.Attr", Fn::Sub "sub:template".
func samOptions() *intrinsics.ProcessorOptions {
	return &intrinsics.ProcessorOptions{
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
			"Ref": func(_ string, input, template any) any {
				name, _ := input.(string)
				if p := templateParameter(template, name); p != nil && p["Type"] == "Number" {
					return p["Default"]
				}
				return "ref:" + name
			},
			"Fn::GetAtt": func(_ string, input, _ any) any {
				switch x := input.(type) {
				case string:
					return "getatt:" + x
				case []any:
					parts := make([]string, len(x))
					for i, p := range x {
						parts[i] = fmt.Sprint(p)
					}
					return "getatt:" + strings.Join(parts, ".")
				}
				return nil
			},
			"Fn::Sub": func(_ string, input, _ any) any {
				if s, ok := input.(string); ok {
					return "sub:" + s
				}
				return nil
			},
		},
	}
}

func templateParameter(template any, name string) map[string]any {
	t, _ := template.(map[string]any)
	params, _ := t["Parameters"].(map[string]any)
	p, _ := params[name].(map[string]any)
	return p
}

func loadTemplate(t *testing.T) *cloudformation.Template {
	t.Helper()
	tmpl, err := goformation.ParseYAMLWithOptions(readRepoFile(t, "template.yaml"), samOptions())
	if err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	return tmpl
}

func TestTemplate(t *testing.T) {
	tmpl := loadTemplate(t)
	if tmpl.Transform == nil || tmpl.Transform.String == nil || *tmpl.Transform.String != "AWS::Serverless-2016-10-31" {
		t.Fatal("template.yaml is not a SAM template (Transform AWS::Serverless-2016-10-31)")
	}
	fns := tmpl.GetAllServerlessFunctionResources()
	var ids, want []string
	for id := range fns {
		ids = append(ids, id)
	}
	for _, f := range deploy.Bundle() {
		want = append(want, f.LogicalID)
	}
	slices.Sort(ids)
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("functions = %v, want %v", ids, want)
	}
	for _, f := range deploy.Bundle() {
		t.Run(string(f.Name), func(t *testing.T) {
			fn := fns[f.LogicalID]
			if str(fn.Runtime) != deploy.LambdaRuntime || str(fn.Handler) != deploy.LambdaHandler {
				t.Errorf("Runtime/Handler = %q/%q, want %q/%q", str(fn.Runtime), str(fn.Handler), deploy.LambdaRuntime, deploy.LambdaHandler)
			}
			if !slices.Equal(fn.Architectures, []string{deploy.LambdaArch}) {
				t.Errorf("Architectures = %v, want [%s]", fn.Architectures, deploy.LambdaArch)
			}
			// SAM runs `make build-<LogicalID>` in CodeUri; the Makefile
			// is at the repository root.
			if fn.AWSCloudFormationMetadata["BuildMethod"] != "makefile" {
				t.Errorf("Metadata.BuildMethod = %v, want makefile", fn.AWSCloudFormationMetadata["BuildMethod"])
			}
			if fn.CodeUri == nil || str(fn.CodeUri.String) != "." {
				t.Errorf("CodeUri must be . (the module root, where the Makefile is)")
			}
			if fn.Timeout == nil || time.Duration(*fn.Timeout)*time.Second != f.Timeout {
				t.Errorf("Timeout = %v, want %v", ptrVal(fn.Timeout), f.Timeout)
			}
			if fn.MemorySize == nil || *fn.MemorySize != f.LambdaMemoryMB {
				t.Errorf("MemorySize = %v, want %d", ptrVal(fn.MemorySize), f.LambdaMemoryMB)
			}
			if str(fn.Description) == "" {
				t.Error("no Description")
			}
			if got := ptrVal(fn.ReservedConcurrentExecutions); (f.MaxInstances == 0 && got != nil) || (f.MaxInstances != 0 && (got == nil || *fn.ReservedConcurrentExecutions != f.MaxInstances)) {
				t.Errorf("ReservedConcurrentExecutions = %v, want %d", got, f.MaxInstances)
			}
			// EventBridge invokes asynchronously; Lambda's defaults (2
			// retries, six hours) would let stale runs overlap new ones.
			e := fn.EventInvokeConfig
			switch {
			case !f.IsTimer() && e != nil:
				t.Error("EventInvokeConfig on an HTTP function")
			case f.IsTimer() && (e == nil || e.MaximumRetryAttempts == nil || e.MaximumEventAgeInSeconds == nil):
				t.Errorf("EventInvokeConfig = %+v, want retries and event age set", e)
			case f.IsTimer():
				if *e.MaximumRetryAttempts != f.Retries || time.Duration(*e.MaximumEventAgeInSeconds)*time.Second != f.MaxEventAge() {
					t.Errorf("EventInvokeConfig = %d retries, %ds; want %d, %v", *e.MaximumRetryAttempts, *e.MaximumEventAgeInSeconds, f.Retries, f.MaxEventAge())
				}
			}
			checkLambdaEnv(t, tmpl, f, fn)
			checkLambdaEvents(t, tmpl, f, fn)
			checkLogGroup(t, tmpl, f)
		})
	}
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func ptrVal[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// checkLambdaEnv holds Environment.Variables to the contract: exactly the
// variables the function uses, each from the parameter of the same name.
func checkLambdaEnv(t *testing.T, tmpl *cloudformation.Template, f deploy.Function, fn *serverless.Function) {
	t.Helper()
	var env map[string]string
	if fn.Environment != nil {
		env = fn.Environment.Variables
	}
	want := deploy.Env(deploy.Lambda, f.Name)
	for name := range env {
		if !slices.ContainsFunc(want, func(v config.Var) bool { return v.Name == name }) {
			t.Errorf("%s is wired but %s does not use it (config.Vars UsedBy)", name, f.Name)
		}
	}
	for _, v := range want {
		val, ok := env[v.Name]
		param := deploy.ParameterName(v.Name)
		if !ok {
			t.Errorf("%s is not wired; %s uses it", v.Name, f.Name)
			continue
		}
		if val != "ref:"+param {
			t.Errorf("%s = %q, want !Ref %s", v.Name, val, param)
		}
	}
}

// TestTemplateParameters checks every parameter that carries a contract
// variable: secrets are NoEcho and never carry a value, defaults follow
// deploy.Fallback, and no parameter is left over.
func TestTemplateParameters(t *testing.T) {
	tmpl := loadTemplate(t)
	carried := map[string]config.Var{}
	for _, v := range config.Vars() {
		for _, fn := range config.Functions() {
			if slices.ContainsFunc(deploy.Env(deploy.Lambda, fn), func(w config.Var) bool { return w.Name == v.Name }) {
				carried[deploy.ParameterName(v.Name)] = v
			}
		}
	}
	for name, v := range carried {
		p, ok := tmpl.Parameters[name]
		if !ok {
			t.Errorf("parameter %s (%s) missing", name, v.Name)
			continue
		}
		if p.Type != "String" {
			t.Errorf("%s: Type %q, want String", name, p.Type)
		}
		noEcho := p.NoEcho != nil && *p.NoEcho
		if v.Secret != noEcho {
			t.Errorf("%s: NoEcho = %v, want %v (secret %v)", name, noEcho, v.Secret, v.Secret)
		}
		want, hasWant := deploy.Fallback(v)
		switch {
		case !hasWant && p.Default != nil:
			t.Errorf("%s: Default %v, but the deployment must supply %s", name, p.Default, v.Name)
		case hasWant && p.Default != want:
			t.Errorf("%s: Default %#v, want %q", name, p.Default, want)
		}
		if p.Description == nil || !strings.Contains(*p.Description, v.Name) {
			t.Errorf("%s: Description must name the variable %s", name, v.Name)
		}
	}
	for name, p := range tmpl.Parameters {
		if _, ok := carried[name]; ok {
			continue
		}
		if p.NoEcho != nil && *p.NoEcho {
			t.Errorf("NoEcho parameter %s carries no contract variable", name)
		}
		if name != "LogRetentionDays" {
			t.Errorf("parameter %s carries no contract variable", name)
		}
	}
}

func checkLambdaEvents(t *testing.T, tmpl *cloudformation.Template, f deploy.Function, fn *serverless.Function) {
	t.Helper()
	if f.IsTimer() {
		if len(fn.Events) != 1 || fn.FunctionUrlConfig != nil {
			t.Fatalf("events %v, url %v: want exactly one Schedule event", fn.Events, fn.FunctionUrlConfig)
		}
		for name, ev := range fn.Events {
			if ev.Type != "Schedule" || ev.Properties == nil || ev.Properties.ScheduleEvent == nil {
				t.Fatalf("event %s: type %q is not a Schedule goformation can read", name, ev.Type)
			}
			s := ev.Properties.ScheduleEvent
			if s.Schedule != f.LambdaSchedule() {
				t.Errorf("Schedule = %q, want %q", s.Schedule, f.LambdaSchedule())
			}
			if every, err := cronPeriod(s.Schedule); err != nil || every != f.Every {
				t.Errorf("Schedule %q fires every %v (%v), want %v", s.Schedule, every, err, f.Every)
			}
			if str(s.Input) != f.Payload || !json.Valid([]byte(str(s.Input))) {
				t.Errorf("Input = %q, want %q", str(s.Input), f.Payload)
			}
			if s.Enabled == nil || !*s.Enabled {
				t.Error("schedule not enabled")
			}
		}
		return
	}
	if f.Name == config.Callback {
		// DingTalk cannot sign AWS requests; the callback signature is
		// the gate, and a Function URL adds no gateway in the 1500 ms path.
		if fn.FunctionUrlConfig == nil || fn.FunctionUrlConfig.AuthType != "NONE" {
			t.Errorf("FunctionUrlConfig = %+v, want AuthType NONE", fn.FunctionUrlConfig)
		}
		if len(fn.Events) != 0 {
			t.Errorf("callback has events %v besides its Function URL", fn.Events)
		}
		if f.HTTPMethods[0] != "POST" || len(f.HTTPMethods) != 1 {
			t.Errorf("callback methods %v", f.HTTPMethods)
		}
		return
	}
	// Other HTTP functions sit behind an HTTP API: for each method one
	// route for the root and one for every path below it, in payload
	// format 2.0 (the only one shared/platform accepts).
	var routes []string
	for name, ev := range fn.Events {
		if ev.Type != "HttpApi" || ev.Properties == nil || ev.Properties.HttpApiEvent == nil {
			t.Errorf("event %s: type %q is not an HttpApi event goformation can read", name, ev.Type)
			continue
		}
		h := ev.Properties.HttpApiEvent
		routes = append(routes, str(h.Method)+" "+str(h.Path))
		api := strings.TrimPrefix(str(h.ApiId), "ref:")
		if _, err := tmpl.GetServerlessHttpApiWithName(api); err != nil || !strings.HasPrefix(str(h.ApiId), "ref:") {
			t.Errorf("event %s: ApiId %q is not a !Ref to an AWS::Serverless::HttpApi: %v", name, str(h.ApiId), err)
		}
		if str(h.PayloadFormatVersion) != "2.0" {
			t.Errorf("event %s: PayloadFormatVersion %q, want 2.0", name, str(h.PayloadFormatVersion))
		}
		if h.Auth != nil {
			t.Errorf("event %s: gateway auth set; the function authenticates with %v", name, f.Gate)
		}
		if h.TimeoutInMillis == nil || time.Duration(*h.TimeoutInMillis)*time.Millisecond <= f.Timeout {
			t.Errorf("event %s: TimeoutInMillis %v must exceed the function timeout %v", name, ptrVal(h.TimeoutInMillis), f.Timeout)
		}
	}
	var want []string
	for _, m := range f.HTTPMethods {
		want = append(want, m+" /", m+" /{proxy+}")
	}
	slices.Sort(routes)
	slices.Sort(want)
	if !slices.Equal(routes, want) {
		t.Errorf("HttpApi routes = %v, want %v", routes, want)
	}
}

// checkLogGroup: each function logs to a group with a retention, so logs
// neither vanish nor pile up forever.
func checkLogGroup(t *testing.T, tmpl *cloudformation.Template, f deploy.Function) {
	t.Helper()
	want := "sub:/aws/lambda/${" + f.LogicalID + "}"
	for _, g := range tmpl.GetAllLogsLogGroupResources() {
		if str(g.LogGroupName) == want {
			if g.RetentionInDays == nil || *g.RetentionInDays <= 0 {
				t.Errorf("log group %s has no retention", want)
			}
			return
		}
	}
	t.Errorf("no AWS::Logs::LogGroup named %s", want)
}

// TestTemplateCfnLint runs cfn-lint, which expands the SAM transform with
// AWS's own translator and checks the result against the CloudFormation
// resource specifications, when it is installed. goformation reads the
// template; this checks that AWS would accept it.
func TestTemplateCfnLint(t *testing.T) {
	t.Parallel()
	lint, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Skip("cfn-lint is not on PATH; pip install cfn-lint to run this check")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, lint, "--format", "parseable", "--", "template.yaml")
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("cfn-lint template.yaml: %v\n%s", err, out)
	}
}

func TestTemplateOutputs(t *testing.T) {
	tmpl := loadTemplate(t)
	tests := []struct {
		output string
		check  func(v any) bool
		want   string
	}{
		{"CallbackUrl", func(v any) bool { return v == "getatt:CallbackFunctionUrl.FunctionUrl" }, "!GetAtt CallbackFunctionUrl.FunctionUrl"},
		{"NotifyUrl", func(v any) bool {
			s, _ := v.(string)
			return strings.HasPrefix(s, "sub:https://${NotifyApi}.execute-api.")
		}, "!Sub https://${NotifyApi}.execute-api...."},
	}
	for _, tt := range tests {
		o, ok := tmpl.Outputs[tt.output]
		if !ok {
			t.Errorf("output %s missing", tt.output)
			continue
		}
		if !tt.check(o.Value) {
			t.Errorf("output %s = %v, want %s", tt.output, o.Value, tt.want)
		}
	}
}
