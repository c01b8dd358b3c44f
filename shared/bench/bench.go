package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Aim is a row's target: the figure at most Max, or exactly Max when
// Exact (a count that must be right, not merely small). The zero Aim is
// none: the row is shown for comparison with its neighbours.
type Aim struct {
	Max   float64
	Exact bool
	// Unit follows the number ("MB"); "" for a ratio or a count.
	Unit string
}

// AtMost is the aim "≤ max".
func AtMost(max float64) Aim { return Aim{Max: max} }

// Exactly is the aim "= n".
func Exactly(n float64) Aim { return Aim{Max: n, Exact: true} }

// String renders the aim as the table shows it: "≤ 1.2", "= 1", "≤ 200 MB".
func (a Aim) String() string {
	if a == (Aim{}) {
		return "—"
	}
	op := "≤"
	if a.Exact {
		op = "="
	}
	s := op + " " + strconv.FormatFloat(a.Max, 'f', -1, 64)
	if a.Unit != "" {
		s += " " + a.Unit
	}
	return s
}

// Met reports whether the figure v meets the aim; every figure meets
// none.
func (a Aim) Met(v float64) bool {
	if a == (Aim{}) {
		return true
	}
	if a.Exact {
		return v == a.Max
	}
	return v <= a.Max
}

// Row is one line of the table: what is measured, and its aim. Names are
// stable: README's table is held to them, not to the figures.
type Row struct {
	Name string
	Aim  Aim
}

// Figure is one row's result.
type Figure struct {
	// Value is compared with the row's aim.
	Value float64
	// Text is Value as printed; "" prints it with two decimals.
	Text string
	// Detail says how the figure came about: the operands of the ratio,
	// the sizes measured.
	Detail string
	// Skip, when set, says why the row could not be measured here (no
	// Linux, no emulator, not asked for); Value means nothing then.
	Skip string
	// Err is a failed measurement.
	Err error
}

// Skipped is the figure of a row that could not run, saying why.
func Skipped(why string) Figure { return Figure{Skip: why} }

// Measurement measures the rows of one feature in one go, so they share
// their setup (a fake, a set of builds).
type Measurement struct {
	// Name heads the rows in the table ("callback crypto").
	Name string
	// Rows are the rows it measures, in table order.
	Rows []Row
	// Large measurements take minutes or gigabytes and run only with
	// Options.Large.
	Large bool
	// Measure returns one Figure per row; an error fails every row.
	Measure func(ctx context.Context, env *Env) ([]Figure, error)
}

// Options select what a run measures and how long it takes.
type Options struct {
	// Quick measures every row in under a minute, with fewer repetitions
	// and a smaller organisation; the figures are noisier.
	Quick bool
	// Large adds the Large measurements (the 100 000-user walk).
	Large bool
	// Only, when not empty, runs just the measurements whose names
	// contain one of these strings (case-insensitive).
	Only []string
	// Root is the dingfn source tree; "" finds it above the working
	// directory. Only the rows that build the functions need it.
	Root string
	// Self runs this program again as a child process that calls
	// RunChild first (the walker whose memory is measured on its own);
	// nil means os.Executable().
	Self []string
	// Progress receives a line as each measurement starts; nil discards.
	Progress io.Writer
	// Now is the clock of the table's date; nil means time.Now.
	Now func() time.Time
}

// Env is what a Measurement gets: the options and a scratch directory
// that is removed when the run ends.
type Env struct {
	Options
	// Dir is the run's scratch directory.
	Dir string
}

// reps returns quick in a quick run and full otherwise.
func (e *Env) reps(quick, full int) int {
	if e.Quick {
		return quick
	}
	return full
}

// logf writes one progress line.
func (e *Env) logf(format string, args ...any) {
	if e.Progress != nil {
		fmt.Fprintf(e.Progress, "bench: "+format+"\n", args...)
	}
}

// Section is one measurement's rows and figures.
type Section struct {
	Measurement Measurement
	Figures     []Figure
	Elapsed     time.Duration
}

// Report is one run: where and when, and every section.
type Report struct {
	Machine  Machine
	Date     time.Time
	Options  Options
	Sections []Section
	Elapsed  time.Duration
}

// Failed reports whether a measurement failed (an error, not a skip or a
// missed aim).
func (r *Report) Failed() bool {
	for _, s := range r.Sections {
		for _, f := range s.Figures {
			if f.Err != nil {
				return true
			}
		}
	}
	return false
}

// Run measures every registered measurement that opts select, one after
// the other. A measurement that fails or is not selected still has its
// rows in the report, with the error or the reason.
func Run(ctx context.Context, opts Options) (*Report, error) {
	return run(ctx, opts, Measurements())
}

// run is Run over the measurements ms.
func run(ctx context.Context, opts Options, ms []Measurement) (*Report, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	dir, err := os.MkdirTemp("", "dingfn-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	env := &Env{Options: opts, Dir: dir}
	rep := &Report{Machine: ThisMachine(), Date: start.UTC(), Options: opts}
	for _, m := range ms {
		sec := Section{Measurement: m}
		t0 := time.Now()
		switch {
		case !selected(m.Name, opts.Only):
			sec.Figures = skipAll(m, "not selected")
		case m.Large && !opts.Large:
			sec.Figures = skipAll(m, "run with --large")
		default:
			env.logf("%s…", m.Name)
			sec.Figures = measure(ctx, env, m)
		}
		sec.Elapsed = time.Since(t0)
		rep.Sections = append(rep.Sections, sec)
		if err := ctx.Err(); err != nil {
			return rep, err
		}
	}
	rep.Elapsed = now().Sub(start)
	return rep, nil
}

// measure runs m, turning a panic or a wrong number of figures into
// errors on its rows.
func measure(ctx context.Context, env *Env, m Measurement) (figs []Figure) {
	defer func() {
		if v := recover(); v != nil {
			figs = failAll(m, fmt.Errorf("panic: %v", v))
		}
	}()
	figs, err := m.Measure(ctx, env)
	switch {
	case err != nil:
		return failAll(m, err)
	case len(figs) != len(m.Rows):
		return failAll(m, fmt.Errorf("bench: %s measured %d figures for %d rows", m.Name, len(figs), len(m.Rows)))
	}
	return figs
}

func selected(name string, only []string) bool {
	if len(only) == 0 {
		return true
	}
	for _, o := range only {
		if strings.Contains(strings.ToLower(name), strings.ToLower(strings.TrimSpace(o))) {
			return true
		}
	}
	return false
}

func skipAll(m Measurement, why string) []Figure {
	figs := make([]Figure, len(m.Rows))
	for i := range figs {
		figs[i] = Skipped(why)
	}
	return figs
}

func failAll(m Measurement, err error) []Figure {
	figs := make([]Figure, len(m.Rows))
	for i := range figs {
		figs[i] = Figure{Err: err}
	}
	return figs
}

// errNoTree is the error of a row that builds the functions, outside the
// dingfn source tree.
var errNoTree = errors.New("bench: not in the dingfn source tree (run `dingfn bench` from a checkout, or set Options.Root)")
