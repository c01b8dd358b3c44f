// Package record stores typed values as JSON rows of a store.Store and
// owns the read-modify-write loop, so that no feature writes its own.
//
// Get and Put read and write one value. Update is the loop, in the shape
// of bbolt's DB.Update: it reads the row, hands the current value to fn,
// and writes what fn returns with a condition on the version it read
// (IfAbsent when there was no row). When another writer got there first
// the condition fails, and Update reads again and calls fn again, a
// bounded number of times with jittered backoff. fn therefore always sees
// the latest value and must be free of side effects it cannot repeat (or
// remember their results itself). fn decides:
//
//	return next, nil                // write next
//	return cur, record.ErrNoChange  // keep the row as it is: no write at all
//	return cur, record.ErrDelete    // delete the row (if present)
//	return cur, err                 // abort: Update returns err unchanged
//
// A counter, for example:
//
//	rec, err := record.Update(ctx, st, "counters", "visits",
//		func(n int, found bool) (int, error) { return n + 1, nil })
//
// Rows are JSON so that services in other languages can read the tables.
// Per-write expiry comes from the value itself (WithExpiry), since values
// that expire usually carry their expiry.
package record
