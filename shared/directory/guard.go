package directory

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// MinDeleteLimit is the floor of every deletion limit: a walk may always
// remove this many records, so a small organisation's ordinary departures
// never trip the guard.
const MinDeleteLimit = 20

// DeleteLimit is DINGFN_SYNC_MAX_DELETE: the most records (users plus
// departments) one complete walk may remove, as a count or as a percentage
// of the mirror's records before the walk. Either way it is never below
// MinDeleteLimit.
type DeleteLimit struct {
	// Count is the limit as a number of records, when Percent is zero.
	Count int
	// Percent is the limit as a share of the mirror, in percent (0, 100].
	Percent float64
}

// DefaultDeleteLimit is DINGFN_SYNC_MAX_DELETE's default, 10%.
var DefaultDeleteLimit = DeleteLimit{Percent: 10}

// ParseDeleteLimit reads a count ("500") or a share of the mirror ("10%",
// "2.5%").
func ParseDeleteLimit(s string) (DeleteLimit, error) {
	s = strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || f <= 0 || f > 100 {
			return DeleteLimit{}, fmt.Errorf("%q is not a percentage in (0%%, 100%%]", s)
		}
		return DeleteLimit{Percent: f}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return DeleteLimit{}, fmt.Errorf("%q is neither a record count (500) nor a percentage (10%%)", s)
	}
	return DeleteLimit{Count: n}, nil
}

// String renders the limit as ParseDeleteLimit reads it.
func (l DeleteLimit) String() string {
	if l.Percent > 0 {
		return strconv.FormatFloat(l.Percent, 'f', -1, 64) + "%"
	}
	return strconv.Itoa(l.Count)
}

// Max returns how many records a walk may remove from a mirror of mirror
// records.
func (l DeleteLimit) Max(mirror int) int {
	n := l.Count
	if l.Percent > 0 {
		n = int(math.Floor(l.Percent * float64(mirror) / 100))
	}
	return max(n, MinDeleteLimit)
}

// ErrGuardTripped is matched by the error of a walk whose deletions the
// guard refused; the *GuardError says how many.
var ErrGuardTripped = errors.New("directory: deletion guard tripped")

// GuardError is the error of a walk that would have removed more records
// than DINGFN_SYNC_MAX_DELETE allows. It removed nothing.
type GuardError struct {
	Guard Guard
}

// Error says what the walk would have removed and how to confirm it.
func (e *GuardError) Error() string {
	g := e.Guard
	return fmt.Sprintf("directory: deletion guard tripped: the walk would remove %d users and %d departments of %d records, more than the limit %d (DINGFN_SYNC_MAX_DELETE=%s); nothing was removed. If the organisation really shrank, run the sync with --allow-mass-delete or raise DINGFN_SYNC_MAX_DELETE; if not, check the app's contact scope (通讯录权限范围)",
		g.Users, g.Departments, g.Mirror, g.Limit, g.Setting)
}

// Is makes errors.Is(err, ErrGuardTripped) true.
func (e *GuardError) Is(target error) bool { return target == ErrGuardTripped }

// Guard is the deletion guard's verdict on a complete walk.
type Guard struct {
	// Tripped means the walk removed nothing because it would have removed
	// more than Limit.
	Tripped bool `json:"tripped"`
	// Users and Departments are the records the walk did not see.
	Users       int `json:"users"`
	Departments int `json:"departments"`
	// Mirror is the number of records (current users plus departments)
	// before the walk, which a percentage applies to.
	Mirror  int    `json:"mirror"`
	Limit   int    `json:"limit"`
	Setting string `json:"setting"`
	// Allowed means the run was told to remove beyond the limit
	// (--allow-mass-delete).
	Allowed bool `json:"allowed,omitempty"`
}
