package directory_test

import (
	"sync"
	"testing"

	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/store/storetest"
)

// WithProgress reports the walk after each department: counts only grow,
// one report per department, and the last one agrees with the run's.
func TestWalkProgress(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b, dingtalktest.WithGeneratedOrg(orgSpec))
		var (
			mu   sync.Mutex
			seen []directory.Report
		)
		e.rebuild(directory.WithProgress(func(r directory.Report) {
			mu.Lock()
			seen = append(seen, r)
			mu.Unlock()
		}))
		rep := e.mustSync()
		depts := len(e.fake.Org().Departments)
		if len(seen) != depts {
			t.Fatalf("%d progress reports, want one per department (%d)", len(seen), depts)
		}
		for i := 1; i < len(seen); i++ {
			p, c := seen[i-1], seen[i]
			if c.DepartmentsSeen != p.DepartmentsSeen+1 || c.UsersSeen < p.UsersSeen || c.APICalls < p.APICalls || c.Created < p.Created {
				t.Fatalf("progress went backwards or skipped at %d: %+v then %+v", i, p, c)
			}
		}
		last := seen[len(seen)-1]
		if last.DepartmentsSeen != rep.DepartmentsSeen || last.UsersSeen != rep.UsersSeen || last.Created != rep.Created {
			t.Errorf("last progress %+v, final report %+v", last, rep)
		}
		if last.Complete || last.Guard != nil {
			t.Errorf("a progress report comes before the walk's verdict: %+v", last)
		}
	})
	if _, err := directory.NewSyncer(nil); err == nil {
		t.Fatal("NewSyncer(nil) must fail")
	}
}
