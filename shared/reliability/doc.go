// Package reliability is dingfn's reliability suite: a test that runs the
// four functions together, built by shared/functions on shared/bundle as
// the deployed ones are, against the fake DingTalk (shared/dingtalktest)
// and the Tablestore emulator (shared/store/tablestoretest, in a child
// process persisting to a data file), while everything around them
// misbehaves at once, and then checks that the bundle kept its promises.
//
// Injected, in seeded random rounds: DingTalk's -1 busy, 502 pages,
// answers slower than the caller waits, 90018 rate-limit storms, dropped
// connections after the call ran (the ambiguous failure) and token
// invalidation; the emulator killed with SIGKILL and restarted on the
// same data file and port, and answering OTSServerBusy; the
// token-refresher, a child process, killed with SIGKILL in the middle of
// its tick; sync ticks cancelled part-way; event handlers failing their
// first run; every push duplicated or replayed byte for byte; each notice
// request sent to two notify instances at once and retried.
//
// Proved, once the faults stop and the sync tick has caught up:
//   - no accepted event lost: every push answered with an encrypted
//     success is processed (done in the event log, its handler run);
//   - no event processed twice: no handler runs for an event whose
//     outcome for that handler is already stored as done (a rerun after
//     a lost outcome is what handlers' idempotency is for, and is
//     counted, not failed);
//   - no notice sent twice: no recipient is in two DingTalk calls for
//     one idempotency key;
//   - the directory mirror equals the fake's organisation, row by row
//     (directorytest.Diff) and as directory.Reader answers;
//   - no token regression: the stored access token and jsapi ticket,
//     read after every step, never go back to a value DingTalk issued
//     earlier;
//   - no panic in any function or child, recovered or not;
//   - every callback reply within DingTalk's 1 500 ms;
//   - no secret in any log line or HTTP body (package secretscan): the
//     app secret, callback token and AES key, notify's API key, the
//     robot's token and signing secret, the store's access key secret,
//     and every token and ticket the fake issued. Tablestore's bodies
//     are not scanned: the token cache stores tokens there by design.
//
// Time is one clock for every function, the fakes and the child
// processes: the wall clock plus an offset the suite jumps forward
// between rounds (bundle.WithClock), so minutes of back-off pass without
// waiting while a dead process's lease still runs out in real time.
//
// `go test ./shared/reliability` runs a short round (seconds; CI runs it
// with the rest); `go test ./shared/reliability -run Reliability -soak`
// runs for minutes with more load (-soak-for sets how long). Each run logs
// its seed; -seed N replays one.
//
// The package has no non-test code: everything it uses is the product's.
package reliability
