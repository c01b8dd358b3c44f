package bench

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// The registry is what README's table and CI rely on: named measurements,
// each with rows, every table label distinct.
func TestRegistry(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range Measurements() {
		if m.Name == "" || m.Measure == nil || len(m.Rows) == 0 {
			t.Errorf("measurement %q: want a name, a Measure and rows", m.Name)
		}
		for _, r := range m.Rows {
			label := RowLabel(m, r)
			if r.Name == "" || seen[label] {
				t.Errorf("row %q: empty or repeated", label)
			}
			if strings.ContainsAny(label, "|\n") {
				t.Errorf("row %q: | or a newline would break the table", label)
			}
			seen[label] = true
		}
	}
}

func TestAim(t *testing.T) {
	for _, c := range []struct {
		aim  Aim
		text string
		v    float64
		met  bool
	}{
		{AtMost(1.2), "≤ 1.2", 1.2, true},
		{AtMost(1.2), "≤ 1.2", 1.21, false},
		{Exactly(1), "= 1", 1, true},
		{Exactly(1), "= 1", 0, false},
		{Exactly(0), "= 0", 0, true},
		{Aim{Max: 200, Unit: "MiB"}, "≤ 200 MiB", 250, false},
		{Aim{}, "—", 1e9, true},
	} {
		if got := c.aim.String(); got != c.text {
			t.Errorf("%+v: String() = %q, want %q", c.aim, got, c.text)
		}
		if got := c.aim.Met(c.v); got != c.met {
			t.Errorf("%s: Met(%v) = %v, want %v", c.text, c.v, got, c.met)
		}
	}
}

// run reports every row: measured, skipped (not selected, --large) or
// failed (an error, a panic, a wrong number of figures), and Failed says
// whether any failed.
func TestRun(t *testing.T) {
	calls := map[string]int{}
	m := func(name string, large bool, measure func() ([]Figure, error)) Measurement {
		return Measurement{Name: name, Large: large, Rows: []Row{{Name: "a", Aim: AtMost(1)}, {Name: "b", Aim: Exactly(0)}},
			Measure: func(context.Context, *Env) ([]Figure, error) { calls[name]++; return measure() }}
	}
	ok := func() ([]Figure, error) { return []Figure{{Value: 0.5, Detail: "1 ÷ 2"}, {Value: 3, Text: "3"}}, nil }
	ms := []Measurement{
		m("good", false, ok),
		m("other", false, ok),
		m("large", true, ok),
		m("broken", false, func() ([]Figure, error) { return nil, errors.New("no fake") }),
		m("short", false, func() ([]Figure, error) { return []Figure{{}}, nil }),
		m("panics", false, func() ([]Figure, error) { panic("boom") }),
	}
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	rep, err := run(t.Context(), Options{Only: []string{"GOOD", "large", "broken", "short", "panics"}, Now: func() time.Time { return now }}, ms)
	if err != nil {
		t.Fatal(err)
	}
	if calls["other"] != 0 || calls["large"] != 0 || calls["good"] != 1 {
		t.Errorf("measured %v; want only the selected, small ones, once", calls)
	}
	if !rep.Failed() {
		t.Error("Failed() = false with failed measurements")
	}
	md := rep.Markdown()
	for _, want := range []string{
		"2026-12-01 08:00 UTC",
		TableHeader,
		"| good: a | **0.50** — 1 ÷ 2 | ≤ 1 | ✓ |",
		"| good: b | **3** | = 0 | ✗ |",
		"| other: a | — (not selected) | ≤ 1 | – |",
		"| large: a | — (run with --large) | ≤ 1 | – |",
		"| broken: a | error: no fake | ≤ 1 | error |",
		"| short: b | error: bench: short measured 1 figures for 2 rows | = 0 | error |",
		"| panics: a | error: panic: boom | ≤ 1 | error |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the table lacks %q:\n%s", want, md)
		}
	}
	res := rep.Results()
	if len(res) != 12 || res[0].Met == nil || !*res[0].Met || res[1].Met == nil || *res[1].Met || res[2].Skip != "not selected" || res[6].Error != "no fake" {
		t.Errorf("Results() = %+v", res)
	}
}

// The token rows' proof: three deployments of 150 callers on a cold
// Tablestore make one access-token call and one ticket call to DingTalk.
func TestTokenMeasurement(t *testing.T) {
	figs, err := measureTokens(t.Context(), &Env{})
	if err != nil {
		t.Fatal(err)
	}
	if len(figs) != 2 || figs[0].Value != 1 || figs[1].Value != 1 {
		t.Errorf("figures %+v, want one token call and one ticket call", figs)
	}
}

// The crypto rows measure real operations against the floor (a failure,
// not a figure, is what this checks: figures are timings).
func TestCryptoMeasurement(t *testing.T) {
	figs, err := measureCrypto(t.Context(), &Env{Options: Options{Quick: true}})
	if err != nil {
		t.Fatal(err)
	}
	if len(figs) != len(cryptoMeasurement().Rows) {
		t.Fatalf("%d figures for %d rows", len(figs), len(cryptoMeasurement().Rows))
	}
	for i, f := range figs {
		if f.Err != nil || f.Value <= 0 || !strings.Contains(f.Detail, "÷") {
			t.Errorf("row %d: %+v", i, f)
		}
	}
}

// The callback rows serve real pushes through the callback function on
// both stores: every push answered with the encrypted success and logged
// (measureCallback fails otherwise), and each costs more than its crypto.
func TestCallbackMeasurement(t *testing.T) {
	figs, err := measureCallback(t.Context(), &Env{Options: Options{Quick: true}})
	if err != nil {
		t.Fatal(err)
	}
	if len(figs) != len(callbackMeasurement().Rows) {
		t.Fatalf("%d figures for %d rows", len(figs), len(callbackMeasurement().Rows))
	}
	last := len(figs) - 1
	for i, f := range figs[:last] {
		if f.Err != nil || f.Value <= 1 || !strings.Contains(f.Detail, "each logged") {
			t.Errorf("row %d: %+v", i, f)
		}
	}
	if !strings.Contains(figs[0].Detail, "without the log") {
		t.Errorf("the memory row's detail %q lacks the callback without the log", figs[0].Detail)
	}
	// The log's cost is a ratio of two timings of the same pushes: near 1
	// under noise, but never missing or absurd.
	if f := figs[last]; f.Err != nil || f.Value <= 0.5 || f.Value > 10 || f.Text == "" && f.Detail == "" {
		t.Errorf("the log's cost row: %+v", f)
	}
}

// The notify rows' proof: every notice, 20 000 recipients too (four
// minutes of DingTalk's budget, on the manual clock), takes the fewest
// send calls and reaches everyone.
func TestNotifyMeasurement(t *testing.T) {
	figs, err := measureNotify(t.Context(), &Env{Options: Options{Quick: true}})
	if err != nil {
		t.Fatal(err)
	}
	if len(figs) != len(noticeRecipients) {
		t.Fatalf("%d figures for %d rows", len(figs), len(noticeRecipients))
	}
	for i, f := range figs {
		if f.Value != 1 || !notifyMeasurement().Rows[i].Aim.Met(f.Value) {
			t.Errorf("%d recipients: %+v, want calls ÷ minimum = 1", noticeRecipients[i], f)
		}
	}
	if !strings.Contains(figs[3].Detail, "200 ÷ 200") || !strings.Contains(figs[3].Detail, "4 minutes") {
		t.Errorf("20 000 recipients: %q, want 200 calls over 4 minutes", figs[3].Detail)
	}
}

// The start-up rows' invocations are what the platform adapters take, and
// their checks accept the functions' answers and refuse others.
func TestInvocationChecks(t *testing.T) {
	for _, c := range []struct {
		name, answer string
		ok           bool
	}{
		{"notify", `{"statusCode":401,"body":"{\"error\":\"unauthorized\"}"}`, true},
		{"notify", `{"statusCode":404,"body":"{}"}`, false},
		{"notify", `{"errorMessage":"boom"}`, false},
		{"sync", `{"steps":{}}`, true},
		{"sync", `{"errorMessage":"boom","errorType":"TimerError"}`, false},
		{"hello", `"hello"`, true},
		{"hello", `"bye"`, false},
		{sdkName, `"hello"`, true},
		{"callback", `{"statusCode":200,"body":"{}"}`, false},
	} {
		_, check := invocation("fc", c.name, "appkey")
		if err := check([]byte(c.answer)); (err == nil) != c.ok {
			t.Errorf("%s answering %s: check = %v, want ok %v", c.name, c.answer, err, c.ok)
		}
	}
}

// Each yardstick has its own name in the figures, and the hello world
// with the Tablestore client is not taken for the hello world.
func TestBinNames(t *testing.T) {
	for pkg, want := range map[string]string{
		helloFC: "hello", helloLambda: "hello", helloTablestore: sdkName, "./functions/notify": "notify",
	} {
		if got := binName(pkg); got != want {
			t.Errorf("binName(%s) = %q, want %q", pkg, got, want)
		}
	}
}

func TestSourceTree(t *testing.T) {
	root, err := sourceTree("")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "functions", "callback", "main.go")); err != nil {
		t.Errorf("source tree %s: %v", root, err)
	}
	if _, err := sourceTree(t.TempDir()); !errors.Is(err, errNoTree) {
		t.Errorf("sourceTree(an empty directory) = %v, want errNoTree", err)
	}
}

// memoryOf and childProcess read /proc: this process has a peak, part of
// it mapped from its executable, and a child started here is found by its
// executable.
func TestProc(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	if peak, file := memoryOf(os.Getpid()); peak < 1<<20 || file <= 0 || file > peak {
		t.Errorf("memoryOf(this process) = %d, %d", peak, file)
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep command")
	}
	sleep, _ = filepath.EvalSymlinks(sleep)
	cmd := exec.Command(sleep, "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if got := childProcess(os.Getpid(), sleep); got != cmd.Process.Pid {
		t.Errorf("childProcess = %d, want %d", got, cmd.Process.Pid)
	}
	if got := childProcess(os.Getpid(), "/no/such/binary"); got != 0 {
		t.Errorf("childProcess(another binary) = %d, want 0", got)
	}
}

func TestMedianAndThousands(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	for n, want := range map[int]string{7: "7", 1000: "1 000", 100000: "100 000", 1234567: "1 234 567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

// The memory rows read the peak and the file-mapped part of the resident
// set from /proc/<pid>/status.
func TestParseStatus(t *testing.T) {
	status := "Name:\tcallback\nVmPeak:\t 1262592 kB\nVmHWM:\t    8848 kB\nVmRSS:\t    8840 kB\nRssAnon:\t    1476 kB\nRssFile:\t    7372 kB\nRssShmem:\t       0 kB\n"
	if peak, file := parseStatus(status); peak != 8848<<10 || file != 7372<<10 {
		t.Errorf("parseStatus = %d, %d; want %d, %d", peak, file, 8848<<10, 7372<<10)
	}
	if peak, file := parseStatus("VmHWM:\t12 MB\n"); peak != 0 || file != 0 {
		t.Errorf("parseStatus of an unknown unit = %d, %d; want 0, 0", peak, file)
	}
}
