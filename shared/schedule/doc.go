// Package schedule runs the steps of a periodic function's tick: the sync
// function's timer fires every minute, and each tick runs the registered
// steps that are due (the directory walk; the event drain, failed-push
// recovery and purges of later features), each under its own store lease
// and within the tick's deadline.
//
// A step says how often it is due (Every) and, when it runs, whether it
// finished its work (Outcome.Done): a finished step is due again Every
// later, an unfinished one (a walk that reached its deadline, a failure)
// at the next tick. One row holds when every step last finished, so a
// tick with nothing due costs one store read. A due step first takes its
// lease (lease/<step> in the same table): overlapping ticks — a platform
// retry, a manual run while the timer fires, two deployments on one
// store — never run one step twice at once, and the loser reports the
// step skipped with the holder and the lease's expiry.
//
// Each step gets the tick's deadline, the platform's remaining time minus
// a margin: its context ends Margin before the platform's deadline, and
// Slot.Deadline, Reserve earlier still, is when it should stop starting
// work and save its place.
//
// # Stored rows
//
// Both in the table "schedule" (DINGFN_TABLE_PREFIX applies):
//
//	steps           {"steps":{"<step>":{"done_at","pending","last_run_at","last_error"}}}
//	lease/<step>    the step's lease (package lease): {"holder","acquired_at","expires_at"}
package schedule
