// Package token keeps exactly one DingTalk (钉钉) access token and one jsapi
// ticket per app in the shared store, and refreshes them ahead of time.
//
// Every function and every environment of a deployment reads the same copy,
// so processes no longer overwrite each other's tickets (the cause of
// dd.config error 52013) and DingTalk's token endpoints are called about once
// per token lifetime instead of once per invocation.
//
// A [Provider] serves one app key. Its read path is, in order:
//
//  1. the in-process copy, while it is comfortably valid;
//  2. the store (table "tokens", key "access_token/<appKey>" or
//     "jsapi_ticket/<appKey>"), when the value there is not within the
//     refresh margin;
//  3. DingTalk, only when the store holds nothing usable. One caller per
//     process (golang.org/x/sync/singleflight) and one process per app (a
//     short shared/store/lease lease, "lease/<kind>/<appKey>") makes the
//     call; the others keep using the still-valid value or wait with
//     bounded, jittered backoff, and take over when the lease expires.
//
// Under the lease, reading again, fetching and writing are one
// shared/store/record Update: the write is version-checked and never moves
// backwards (a stored value is replaced only by one that expires later),
// and DingTalk is called at most once however often the write must be
// retried. [Provider.Invalidate] drops a rejected token only if it is still
// the stored one, so a burst of failures causes one refresh; the provider
// remembers the tokens rejected lately and never serves one again, even
// from a refresh that raced with the rejection.
//
// The [Refresher]'s refreshes end with its context: a cancelled tick stops
// fetching and releases its leases before Tick returns, so the next run
// does not wait for them to expire. Within one tick the ticket is fetched
// with the token the tick obtained; a tick that obtained no token does not
// fetch it again for the ticket.
//
// Two margins keep readers off the upstream path. The scheduled
// [Refresher] (functions/token-refresher, every 10 minutes) renews a value
// when less than 30 of its 120 minutes remain; readers refresh only when less
// than 5 minutes remain, which happens only when the refresher has stopped.
//
// The stored value is JSON so that services written in other languages can
// read the same cache:
//
//	{"kind":"jsapi_ticket","app_key":"dingxxxx","value":"…",
//	 "fetched_at":"2026-11-30T08:00:00Z","expires_at":"2026-11-30T10:00:00Z",
//	 "fetched_by":"host/4242/9f2c0a1b3d4e",
//	 "issued_at":"2026-11-30T02:00:00Z","hard_expires_at":"2026-12-01T02:00:00Z"}
//
// issued_at and hard_expires_at appear for jsapi tickets only: DingTalk
// renews a ticket on every fetch during its validity, but never beyond 24
// hours after it was first issued. fetched_by names the process that
// fetched the value (host/pid/random, as in the leases); [Provider.Status]
// reports all of this without the value, for `dingfn token status`.
package token
