package deploy_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/deploy"
)

const modulePath = deploy.ModulePath

// repoRoot is the source tree above the test's working directory, so the
// tests find s.yaml wherever the package sits.
func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, ok := deploy.SourceTree(wd, true)
	if !ok {
		t.Fatalf("no go.mod of module %s above %s", modulePath, wd)
	}
	return root
}

func readRepoFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cronPeriod checks a timer expression and returns the interval it fires
// at. It accepts what the descriptors may use: FC's "@every D" and
// six-field cron (seconds minutes hours day-of-month month day-of-week),
// and EventBridge's "cron(minutes hours day-of-month month day-of-week
// year)". Only schedules that fire at a fixed interval within the hour
// (a single second, every hour, every day) have a period; anything else is
// an error, because the bundle has no use for it.
func cronPeriod(expr string) (time.Duration, error) {
	if d, ok := strings.CutPrefix(expr, "@every "); ok {
		p, err := time.ParseDuration(d)
		if err != nil || p <= 0 {
			return 0, fmt.Errorf("%q: bad @every duration", expr)
		}
		return p, nil
	}
	var minute string
	if inner, ok := strings.CutPrefix(expr, "cron("); ok && strings.HasSuffix(inner, ")") {
		f := strings.Fields(strings.TrimSuffix(inner, ")"))
		if len(f) != 6 {
			return 0, fmt.Errorf("%q: EventBridge cron needs 6 fields, got %d", expr, len(f))
		}
		if (f[2] == "?") == (f[4] == "?") {
			return 0, fmt.Errorf("%q: EventBridge cron needs ? in exactly one of day-of-month and day-of-week", expr)
		}
		minute = f[0]
		if err := allOf(expr, f[1:], "*", "?"); err != nil {
			return 0, err
		}
	} else {
		f := strings.Fields(expr)
		if len(f) != 6 {
			return 0, fmt.Errorf("%q: FC cron needs 6 fields (seconds first), got %d", expr, len(f))
		}
		if _, err := expand(f[0], 0, 59); err != nil {
			return 0, fmt.Errorf("%q: seconds: %w", expr, err)
		}
		if strings.ContainsAny(f[0], ",-/*") {
			return 0, fmt.Errorf("%q: fires more than once a minute", expr)
		}
		minute = f[1]
		if err := allOf(expr, f[2:], "*", "?"); err != nil {
			return 0, err
		}
	}
	mins, err := expand(minute, 0, 59)
	if err != nil {
		return 0, fmt.Errorf("%q: minutes: %w", expr, err)
	}
	gap := 60 + mins[0] - mins[len(mins)-1] // across the hour
	for i := 1; i < len(mins); i++ {
		if d := mins[i] - mins[i-1]; d != gap {
			return 0, fmt.Errorf("%q: minutes %v are not evenly spaced", expr, mins)
		}
	}
	return time.Duration(gap) * time.Minute, nil
}

func allOf(expr string, fields []string, allowed ...string) error {
	for _, f := range fields {
		if !slices.Contains(allowed, f) {
			return fmt.Errorf("%q: field %q: only minute-level schedules are expected", expr, f)
		}
	}
	return nil
}

// expand turns one cron field (lists of *, N, A-B, with /STEP) into the
// sorted values it selects.
func expand(field string, lo, hi int) ([]int, error) {
	set := map[int]bool{}
	for item := range strings.SplitSeq(field, ",") {
		rng, stepStr, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepStr)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("bad step in %q", item)
			}
			step = n
		}
		from, to := lo, hi
		switch {
		case rng == "*":
		case strings.Contains(rng, "-"):
			a, b, _ := strings.Cut(rng, "-")
			var err1, err2 error
			from, err1 = strconv.Atoi(a)
			to, err2 = strconv.Atoi(b)
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("bad range %q", item)
			}
		default:
			n, err := strconv.Atoi(rng)
			if err != nil {
				return nil, fmt.Errorf("bad value %q", item)
			}
			from = n
			if !hasStep {
				to = n
			}
		}
		if from < lo || to > hi || from > to {
			return nil, fmt.Errorf("%q outside %d-%d", item, lo, hi)
		}
		for v := from; v <= to; v += step {
			set[v] = true
		}
	}
	var out []int
	for v := range set {
		out = append(out, v)
	}
	slices.Sort(out)
	if len(out) == 0 {
		return nil, fmt.Errorf("%q selects nothing", field)
	}
	return out, nil
}
