package bench

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dingfn/dingfn/shared/config"
	"github.com/dingfn/dingfn/shared/deploy"
	"github.com/dingfn/dingfn/shared/dingcrypto"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/platform/runtimetest"
	"github.com/dingfn/dingfn/shared/store/tablestoretest"
)

// The yardsticks: a hello world per platform, built with the same flags
// as the functions (see internal/hellofc, internal/hellolambda), and the
// same hello world with a Tablestore client (internal/hellotablestore,
// either platform by its build tag): what the SDK alone costs, shown
// beside the figures.
const (
	helloFC         = "./shared/bench/internal/hellofc"
	helloLambda     = "./shared/bench/internal/hellolambda"
	helloTablestore = "./shared/bench/internal/hellotablestore"
)

// sdkName is how the rows name the hello world with a Tablestore client.
const sdkName = "hello world + Tablestore client"

// The functions' aims, as ratios to the hello world of their platform.
var (
	startupAim = AtMost(1.2)
	memoryAim  = AtMost(1.3)
	sizeAim    = AtMost(1.5)
)

// platformNames are how the rows name the platforms and their harnesses.
var platformNames = map[deploy.Platform]string{
	deploy.FC:     "FC (fake runtime API)",
	deploy.Lambda: "Lambda (Runtime Interface Emulator)",
}

var benchPlatforms = []deploy.Platform{deploy.FC, deploy.Lambda}

func functionsMeasurement() Measurement {
	m := Measurement{Name: "functions", Measure: measureFunctions}
	for _, p := range benchPlatforms {
		m.Rows = append(m.Rows, Row{Name: "start-up on " + platformNames[p] + ", exec → first answer, fastest start: slower HTTP function (callback, notify) ÷ hello world", Aim: startupAim})
	}
	for _, p := range benchPlatforms {
		m.Rows = append(m.Rows, Row{Name: "peak RSS at the first answer on " + platformNames[p] + ": largest function ÷ hello world", Aim: memoryAim})
	}
	for _, p := range benchPlatforms {
		m.Rows = append(m.Rows, Row{Name: fmt.Sprintf("binary size for %s (linux/%s, `make build`): largest function ÷ hello world", strings.SplitN(platformNames[p], " ", 2)[0], p.GoArch()), Aim: sizeAim})
	}
	return m
}

// subject is one binary whose start-up is timed.
type subject struct {
	name string // function name, or "hello"
	bin  string
}

// startSample is one start of a subject.
type startSample struct {
	wall time.Duration // exec (FC) or invocation (Lambda) → answer
	rss  int64         // peak RSS in bytes at the answer; 0 when unknown
	file int64         // of the RSS at the answer, the pages mapped from files (the binary)
}

// measureFunctions builds the four functions and the hello worlds with
// the Makefile's flags (shared/deploy) and compares them: binary sizes as
// deployed (FC linux/amd64, Lambda linux/arm64), and, on Linux, start-up
// and peak RSS of builds for this machine's architecture run the way each
// platform runs them.
func measureFunctions(ctx context.Context, env *Env) ([]Figure, error) {
	root, err := sourceTree(env.Root)
	if err != nil {
		return nil, err
	}
	fns := config.Functions()
	stores := deploy.DefaultStores()
	canRun := runtime.GOOS == "linux"
	built := map[deploy.Platform]map[string]string{} // runnable binaries by name
	sizes := map[deploy.Platform]map[string]int64{}
	for _, p := range benchPlatforms {
		hello := helloFC
		if p == deploy.Lambda {
			hello = helloLambda
		}
		pkgs := []string{hello, helloTablestore}
		for _, fn := range fns {
			pkgs = append(pkgs, "./functions/"+string(fn))
		}
		// The deployed architecture, for the sizes; the same build runs
		// here when this machine has that architecture.
		dir := filepath.Join(env.Dir, string(p), p.GoArch()) + string(filepath.Separator)
		env.logf("building the %s artifacts (%s)…", p, strings.Join(p.Tags(stores), ","))
		if err := goBuild(ctx, root, p.GoBuild(dir, stores, pkgs...)); err != nil {
			return nil, err
		}
		sizes[p] = map[string]int64{}
		for _, pkg := range pkgs {
			fi, err := os.Stat(filepath.Join(dir, filepath.Base(pkg)))
			if err != nil {
				return nil, err
			}
			sizes[p][binName(pkg)] = fi.Size()
		}
		if !canRun {
			continue
		}
		runDir := dir
		if p.GoArch() != runtime.GOARCH {
			runDir = filepath.Join(env.Dir, string(p), runtime.GOARCH) + string(filepath.Separator)
			if err := goBuild(ctx, root, p.GoBuildArch(runtime.GOARCH, runDir, stores, pkgs...)); err != nil {
				return nil, err
			}
		}
		built[p] = map[string]string{}
		for _, pkg := range pkgs {
			built[p][binName(pkg)] = filepath.Join(runDir, filepath.Base(pkg))
		}
	}

	startFigs := make([]Figure, len(benchPlatforms))
	memFigs := make([]Figure, len(benchPlatforms))
	for i, p := range benchPlatforms {
		if !canRun {
			startFigs[i], memFigs[i] = Skipped("Linux only"), Skipped("Linux only")
			continue
		}
		env.logf("timing start-ups on %s…", platformNames[p])
		samples, err := timeStarts(ctx, env, p, built[p])
		var skip *skipError
		switch {
		case errors.As(err, &skip):
			startFigs[i], memFigs[i] = Skipped(skip.why), Skipped(skip.why)
			continue
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case err != nil:
			// The sizes stand without the start-ups.
			err = fmt.Errorf("%s: %w", p, err)
			startFigs[i], memFigs[i] = Figure{Err: err}, Figure{Err: err}
			continue
		}
		walls, rss, file := map[string][]float64{}, map[string][]float64{}, map[string][]float64{}
		for name, ss := range samples {
			for _, s := range ss {
				walls[name] = append(walls[name], float64(s.wall))
				rss[name] = append(rss[name], float64(s.rss))
				file[name] = append(file[name], float64(s.file))
			}
		}
		// A timer's first answer is a tick, which reads the store over
		// the network: work no hello world does, shown but not counted.
		// The fastest start of each: on a machine shared with other jobs
		// a start's wall time is mostly the neighbours', and the fastest
		// of several taken in turns is the one they disturbed least.
		fastest := func(vs []float64) float64 { return slices.Min(vs) }
		startFigs[i] = worstRatioBy(fastest, httpFunctions, walls, func(v float64) string { return fmtDuration(time.Duration(v)) })
		timers := worstRatioBy(fastest, timerFunctions, walls, func(v float64) string { return fmtDuration(time.Duration(v)) })
		if timers.Err == nil {
			startFigs[i].Detail += fmt.Sprintf(" (fastest of %d starts each); timers, whose first tick reads the store: %s", env.reps(3, 15), strings.Split(timers.Detail, ";")[0])
		}
		startFigs[i] = withSDK(startFigs[i], fastest(walls[sdkName])/fastest(walls["hello"]))
		memFigs[i] = worstRatio(fns, rss, fmtMiB)
		memFigs[i] = withSDK(memFigs[i], median(rss[sdkName])/median(rss["hello"]))
		memFigs[i] = withFileShare(memFigs[i], fns, rss, file)
	}
	var sizeFigs []Figure
	for _, p := range benchPlatforms {
		one := map[string][]float64{}
		for name, n := range sizes[p] {
			one[name] = []float64{float64(n)}
		}
		sizeFigs = append(sizeFigs, withSDK(worstRatio(fns, one, fmtMB), one[sdkName][0]/one["hello"][0]))
	}
	return slices.Concat(startFigs, memFigs, sizeFigs), nil
}

// binName is the name a row gives the binary of pkg.
func binName(pkg string) string {
	switch pkg {
	case helloFC, helloLambda:
		return "hello"
	case helloTablestore:
		return sdkName
	}
	return filepath.Base(pkg)
}

// withSDK adds to f's detail the same ratio for the hello world with a
// Tablestore client: the part of the figure the SDK alone accounts for.
func withSDK(f Figure, ratio float64) Figure {
	if f.Err == nil {
		f.Detail += fmt.Sprintf("; %s alone: %.2f", sdkName, ratio)
	}
	return f
}

// The functions whose first answer is an HTTP response, and the timers.
var (
	httpFunctions  = []config.Function{config.Callback, config.Notify}
	timerFunctions = []config.Function{config.Sync, config.TokenRefresher}
)

// worstRatio is the largest median of a function over the hello world's,
// with every function's ratio in the detail.
func worstRatio(fns []config.Function, values map[string][]float64, format func(float64) string) Figure {
	return worstRatioBy(median[float64], fns, values, format)
}

// worstRatioBy is worstRatio with reduce in place of the median.
func worstRatioBy(reduce func([]float64) float64, fns []config.Function, values map[string][]float64, format func(float64) string) Figure {
	med := func(name string) float64 { return reduce(values[name]) }
	hello := med("hello")
	if hello == 0 {
		return Figure{Err: errors.New("bench: the hello world measured zero")}
	}
	var parts []string
	worst := 0.0
	for _, fn := range fns {
		r := med(string(fn)) / hello
		worst = max(worst, r)
		parts = append(parts, fmt.Sprintf("%s %.2f", fn, r))
	}
	return Figure{Value: worst, Detail: strings.Join(parts, ", ") + "; hello world " + format(hello)}
}

// goBuild runs one build in the source tree.
func goBuild(ctx context.Context, root string, b deploy.GoBuild) error {
	cmd := exec.CommandContext(ctx, runtimetest.GoTool(), b.Args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), b.Env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s go %s: %v\n%s", strings.Join(b.Env, " "), strings.Join(b.Args, " "), err, out)
	}
	return nil
}

// sourceTree returns root, or the dingfn source tree above the working
// directory.
func sourceTree(root string) (string, error) {
	dir := root
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		dir = wd
	}
	if tree, ok := deploy.SourceTree(dir, root == ""); ok {
		return tree, nil
	}
	return "", errNoTree
}

// skipError is a harness this machine does not have.
type skipError struct{ why string }

func (e *skipError) Error() string { return e.why }

// timeStarts starts every binary of bins (the hello world and the four
// functions) reps times, the way platform p runs them, against a fake
// DingTalk and a Tablestore emulator shared by all of them, and returns
// each start's time to the first answer and peak RSS, by binary. Each
// binary first runs once unmeasured: the timers' first ticks fill the
// store (the walk of the fake's organisation, the tokens), so the
// measured ticks find nothing due and answer after a store read, and the
// binaries are in the page cache.
func timeStarts(ctx context.Context, env *Env, p deploy.Platform, bins map[string]string) (map[string][]startSample, error) {
	ding := dingtalktest.NewServer()
	defer ding.Close()
	ots := tablestoretest.NewServer()
	defer ots.Close()
	vars := runtimetest.ChildEnv()
	for k, v := range functionEnv(ding, ots.URL) {
		vars = append(vars, k+"="+v)
	}
	var start func(name, bin string) (startSample, error)
	switch p {
	case deploy.FC:
		fake := runtimetest.NewFakeFCServer()
		defer fake.Close()
		vars = append(vars, fake.Env())
		start = func(name, bin string) (startSample, error) {
			payload, check := invocation(p, name, ding.AppKey())
			cctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			// The last function's pending poll must be gone, or it could
			// take this invocation with it.
			if err := fake.WaitIdle(cctx); err != nil {
				return startSample{}, err
			}
			t0 := time.Now()
			proc, err := runtimetest.StartProcess(vars, bin)
			if err != nil {
				return startSample{}, err
			}
			defer proc.Stop()
			_, res, err := fake.Call(cctx, proc, payload)
			wall := time.Since(t0)
			if err == nil && res.Kind != "response" {
				err = fmt.Errorf("the invocation failed: %s", res.Body)
			}
			if err == nil {
				err = check(res.Body)
			}
			if err != nil {
				proc.Stop()
				return startSample{}, fmt.Errorf("%s: %w\n%s", name, err, proc.Stderr)
			}
			rss, file := memoryOf(proc.Cmd.Process.Pid)
			return startSample{wall: wall, rss: rss, file: file}, nil
		}
	case deploy.Lambda:
		rie, err := runtimetest.InstallRIE(env.Dir)
		if err != nil {
			return nil, &skipError{"no Runtime Interface Emulator (it is built from the Go module proxy): " + firstLine(err.Error())}
		}
		start = func(name, bin string) (startSample, error) {
			payload, check := invocation(p, name, ding.AppKey())
			r, err := runtimetest.LaunchRIE(rie, bin, vars)
			if err != nil {
				return startSample{}, err
			}
			defer r.Proc.Stop()
			cctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			// The emulator starts the function at the first invocation.
			t0 := time.Now()
			out, err := r.Call(cctx, payload)
			wall := time.Since(t0)
			if err == nil {
				err = check(out)
			}
			child := childProcess(r.Proc.Cmd.Process.Pid, bin)
			if child > 0 {
				defer syscall.Kill(child, syscall.SIGKILL)
			}
			if err != nil {
				r.Proc.Stop()
				return startSample{}, fmt.Errorf("%s: %w\n%s%s", name, err, r.Proc.Stdout, r.Proc.Stderr)
			}
			rss, file := memoryOf(child)
			return startSample{wall: wall, rss: rss, file: file}, nil
		}
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for name := range bins {
			if !yield(name) {
				return
			}
		}
	})
	for _, name := range names {
		if _, err := start(name, bins[name]); err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	samples := map[string][]startSample{}
	reps := env.reps(3, 15)
	for i := range reps {
		// A different order each round, so no binary always follows the
		// same one.
		order := slices.Concat(names[i%len(names):], names[:i%len(names)])
		for _, name := range order {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			s, err := start(name, bins[name])
			if err != nil {
				return nil, err
			}
			samples[name] = append(samples[name], s)
		}
	}
	return samples, nil
}

// invocation returns the first invocation of function name on p (the
// cheapest request that exercises it: a signed check_url push for the
// callback, a request without a key for notify, a timer event for the
// timers, anything for the hello world) and a check of its answer.
func invocation(p deploy.Platform, name, appKey string) ([]byte, func([]byte) error) {
	timer := func(out []byte) error {
		if bytes.Contains(out, []byte(`"errorMessage"`)) {
			return fmt.Errorf("the tick failed: %s", out)
		}
		return nil
	}
	switch name {
	case string(config.Callback):
		c, err := dingcrypto.New(benchCallbackToken, benchAESKey, appKey)
		if err != nil {
			return nil, func([]byte) error { return err }
		}
		envl, err := c.Encrypt([]byte(`{"EventType":"check_url"}`))
		if err != nil {
			return nil, func([]byte) error { return err }
		}
		q := url.Values{"signature": {envl.MsgSignature}, "timestamp": {envl.TimeStamp}, "nonce": {envl.Nonce}}
		body, _ := json.Marshal(map[string]string{"encrypt": envl.Encrypt})
		return httpEvent(p, "/", q, string(body)), func(out []byte) error {
			status, b, err := httpAnswer(out)
			if err != nil {
				return err
			}
			var reply dingcrypto.Envelope
			if status != 200 || json.Unmarshal(b, &reply) != nil {
				return fmt.Errorf("callback answered %d %s, want 200 and the encrypted success", status, b)
			}
			plain, err := c.Decrypt(reply.MsgSignature, reply.TimeStamp, reply.Nonce, reply.Encrypt)
			if err != nil || string(plain) != "success" {
				return fmt.Errorf("callback reply %q, %v; want the encrypted success", plain, err)
			}
			return nil
		}
	case string(config.Notify):
		return httpEvent(p, "/v1/notices", nil, `{}`), func(out []byte) error {
			status, b, err := httpAnswer(out)
			if err != nil {
				return err
			}
			if status != 401 {
				return fmt.Errorf("notify without a key answered %d %s, want 401", status, b)
			}
			return nil
		}
	case string(config.Sync), string(config.TokenRefresher):
		if p == deploy.FC {
			ev, _ := json.Marshal(map[string]string{"triggerTime": "2026-12-01T08:00:00Z", "triggerName": "timer", "payload": fmt.Sprintf(`{"job":%q}`, name)})
			return ev, timer
		}
		ev, _ := json.Marshal(map[string]any{
			"version": "0", "id": "bench", "detail-type": "Scheduled Event", "source": "aws.events",
			"account": "123456789012", "time": "2026-12-01T08:00:00Z", "region": "ap-southeast-1",
			"resources": []string{"arn:aws:events:ap-southeast-1:123456789012:rule/dingfn-bench"}, "detail": map[string]any{},
		})
		return ev, timer
	default:
		return []byte(`{}`), func(out []byte) error {
			if string(bytes.TrimSpace(out)) != `"hello"` {
				return fmt.Errorf("hello world answered %s", out)
			}
			return nil
		}
	}
}

// httpEvent is a POST to path as p's HTTP trigger delivers it.
func httpEvent(p deploy.Platform, path string, q url.Values, body string) []byte {
	var ev any
	if p == deploy.FC {
		params := map[string]string{}
		for k := range q {
			params[k] = q.Get(k)
		}
		ev = map[string]any{
			"version": "v1", "rawPath": path, "body": body, "isBase64Encoded": false,
			"headers": map[string]string{"Content-Type": "application/json"}, "queryParameters": params,
			"requestContext": map[string]any{
				"accountId": "1234567890123456", "domainName": "bench.cn-hangzhou.fcapp.run", "domainPrefix": "bench",
				"requestId": "bench", "time": "2026-12-01T08:00:00Z", "timeEpoch": "1796112000000",
				"http": map[string]string{"method": "POST", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "dingfn-bench"},
			},
		}
	} else {
		ev = map[string]any{
			"version": "2.0", "rawPath": path, "rawQueryString": q.Encode(), "body": body, "isBase64Encoded": false,
			"headers": map[string]string{"content-type": "application/json", "host": "bench.lambda-url.ap-southeast-1.on.aws"},
			"requestContext": map[string]any{
				"accountId": "anonymous", "domainName": "bench.lambda-url.ap-southeast-1.on.aws", "requestId": "bench",
				"routeKey": "$default", "stage": "$default", "timeEpoch": 1796112000000,
				"http": map[string]string{"method": "POST", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "dingfn-bench"},
			},
		}
	}
	b, _ := json.Marshal(ev)
	return b
}

// httpAnswer reads an FC or Lambda HTTP response document.
func httpAnswer(out []byte) (int, []byte, error) {
	var resp struct {
		StatusCode      int    `json:"statusCode"`
		Body            string `json:"body"`
		IsBase64Encoded bool   `json:"isBase64Encoded"`
	}
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode == 0 {
		return 0, nil, fmt.Errorf("not an HTTP response document: %s", out)
	}
	if !resp.IsBase64Encoded {
		return resp.StatusCode, []byte(resp.Body), nil
	}
	b, err := base64.StdEncoding.DecodeString(resp.Body)
	return resp.StatusCode, b, err
}

// memoryOf reads a live process's peak resident set (VmHWM) and the part
// of its resident set mapped from files (RssFile) from /proc; 0 for what
// it cannot read.
func memoryOf(pid int) (peak, file int64) {
	if pid <= 0 {
		return 0, 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	return parseStatus(string(b))
}

// parseStatus reads VmHWM and RssFile from the text of /proc/<pid>/status.
func parseStatus(status string) (peak, file int64) {
	kB := func(rest string) int64 {
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		return n * 1024
	}
	for line := range strings.SplitSeq(status, "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			peak = kB(rest)
		} else if rest, ok := strings.CutPrefix(line, "RssFile:"); ok {
			file = kB(rest)
		}
	}
	return peak, file
}

// withFileShare adds to a memory figure's detail how much of the peak was
// pages mapped from the binary, for the hello world and the functions:
// the kernel maps much of a started binary, so that part follows the
// binaries' sizes.
func withFileShare(f Figure, fns []config.Function, rss, file map[string][]float64) Figure {
	share := func(name string) float64 {
		if median(rss[name]) == 0 {
			return 0
		}
		return median(file[name]) / median(rss[name])
	}
	if f.Err != nil || share("hello") == 0 {
		return f
	}
	lo, hi := 1.0, 0.0
	for _, fn := range fns {
		lo, hi = min(lo, share(string(fn))), max(hi, share(string(fn)))
	}
	f.Detail += fmt.Sprintf("; mapped from the binary: hello world %.0f%%, functions %.0f–%.0f%%", 100*share("hello"), 100*lo, 100*hi)
	return f
}

// childProcess returns the pid of parent's child running bin (the
// function the emulator started), or 0.
func childProcess(parent int, bin string) int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", parent))
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			pid, err := strconv.Atoi(f)
			if err != nil {
				continue
			}
			if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && exe == bin {
				return pid
			}
		}
	}
	return 0
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
