package directory

import "time"

// Test access to internals for the external test package.

// The contact endpoints, as the report's api_calls_by_api names them.
const (
	APIDeptGet    = apiDeptGet
	APIDeptSubIDs = apiDeptSubIDs
	APIUserList   = apiUserList
	APIUserGet    = apiUserGet
)

// SetBackoff shortens the walk's own rate-limit back-off.
func SetBackoff(s *Syncer, base, max time.Duration) { s.backoff, s.maxBackoff = base, max }

// ChangedFields names the fields two stored records differ in.
var ChangedFields = changedFields
