// Package lease is dingfn's one lease: a store row that says who may do a
// piece of work (refresh a token, run the directory sync, drain the event
// log) until when, so that one process does it and the others wait or
// skip.
//
// Acquire takes a lease with a conditional put (IfAbsent: a missing or
// expired row is free). Renew extends it and Release gives it up, both
// conditional on the version the holder last wrote, so a holder whose
// lease expired can neither extend nor delete its successor's lease: it
// gets an error matching ErrLost. A failed Acquire returns a *HeldError
// naming the current holder and its expiry.
//
// A lease only says who should work; it cannot stop a holder that paused
// (a long GC, a frozen function instance) past its expiry from writing
// after a successor took over. Writes that must not be overwritten by such
// a stale holder are fenced: Fence is a token that grows with every new
// holder (the store version of the acquiring write), the holder stores it
// in the records it writes, and compares it in a record.Update before each
// write (CheckFence), so the comparison and the write are one conditional
// write.
//
// Run is the whole life of a single runner — acquire, renew in the
// background, release — for the scheduled sync and the event drainer:
//
//	err := lease.Run(ctx, st, "sync", "lease/directory", 2*time.Minute,
//		func(ctx context.Context, l *lease.Lease) error {
//			// ctx is cancelled (cause ErrLost) if the lease is lost.
//			return sync(ctx, l)
//		})
//	if held, ok := errors.AsType[*lease.HeldError](err); ok {
//		report.Skipped = fmt.Sprintf("holder %s until %s", held.Holder, held.ExpiresAt)
//	}
//
// # Stored row
//
// A lease is an expiring row of the caller's table whose JSON value is
// for operators and other languages reading the table:
//
//	{"holder":"host/pid/random","acquired_at":"2026-01-02T03:04:05Z","expires_at":"2026-01-02T03:06:05Z"}
//
// holder is HolderID() unless WithHolder says otherwise; acquired_at is
// kept across renewals; expires_at equals the row's store expiry.
package lease
