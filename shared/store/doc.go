// Package store is dingfn's one persistence abstraction: tokens and tickets,
// leases, idempotency keys, the event log, the directory mirror, checkpoints
// and sent-message records all go through a Store.
//
// The interface is deliberately small so that Tablestore (production,
// package otsstore), Redis (a team's existing server, package redisstore),
// bbolt (the embedded default, package boltstore) and memory (tests,
// package memstore) implement it with the same semantics,
// proved by the contract suite in package storetest. Package backend opens
// the one a deployment is configured for (DINGFN_STORE).
//
// # Semantics every backend guarantees
//
//   - Keys are valid UTF-8 strings of 1 to MaxKeyLen bytes, ordered bytewise;
//     a table is a logical name ("tokens", "users", …) matching
//     [a-z][a-z0-9_]{0,63} that the backend prefixes with its table prefix
//     (DINGFN_TABLE_PREFIX, default "dingfn_"). Values are at most
//     MaxValueLen bytes. Anything else is rejected with an error matching
//     ErrInvalid and changes nothing.
//   - A table that was never written behaves as an empty table; backends
//     create it on first write, idempotently, without a console step.
//   - Every write of a key sets a new Version, strictly greater than the
//     version it replaces, so compare-and-swap loops never lose an update.
//     Versions also grow across a delete and re-create of the same key, so a
//     version read before the delete never matches the new item (on
//     Tablestore this relies on writers' clocks; see package otsstore).
//     Versions are opaque: compare them for equality only.
//   - An item whose ExpiresAt has passed (by the store's clock) is absent for
//     every operation: Get misses, Scan skips it, IfAbsent succeeds over it,
//     IfVersion fails on it. Expiry is kept with millisecond precision: an
//     item is expired from the instant now >= ExpiresAt.
//   - A failed condition returns an error that matches ErrConflict and
//     changes nothing. A backend failure is never reported as ErrNotFound
//     or ErrConflict.
//   - Batch applies writes in order (the last write of a key wins), each
//     under its own Write.Cond (the zero Cond is Always), checked when that
//     write applies, after the batch's earlier writes of the same key. Each
//     write that fails — invalid (ErrInvalid), condition failed
//     (ErrConflict), or refused by the backend — is reported in a
//     *BatchError and changes nothing; the others are applied. A batch is
//     not a transaction: it is many conditional writes sent together. A
//     directory sync that read at T0 writes its rows with IfVersion (or
//     IfAbsent), so a row an event updated at T1 fails with ErrConflict
//     instead of being overwritten with older data.
//   - Read-modify-write of one row, leases and typed JSON rows are built on
//     these operations once, in packages record and lease; features use
//     them rather than writing their own compare-and-swap loops.
//   - Scan pages may be short or even empty before the end; only an empty
//     Page.Next ends a scan. All follows the cursors.
//   - Expired items stay stored, invisible, until overwritten, deleted or
//     purged (Redis also drops them a minute after expiry): every backend
//     implements Purger, which a scheduled function should call for tables
//     of expiring items (leases, idempotency keys).
//
// # Physical layout, for readers in other languages
//
// On Tablestore every logical table T is the table <prefix>T with one
// STRING primary-key column and three attribute columns:
//
//	pk          STRING (primary key)  the item key
//	value       BINARY                the item value; dingfn writes UTF-8 JSON
//	version     INTEGER               opaque compare-and-swap version (int64; above 2^53, so
//	                                  JavaScript readers need BigInt or Long)
//	expires_at  INTEGER               Unix milliseconds; 9223372036854775807 means never
//
// A row is present only while expires_at is greater than the current Unix
// time in milliseconds; expired rows linger until overwritten, deleted or
// purged, so readers must apply the same check. The tables have no
// Tablestore TTL and keep one cell version. Writers in other languages
// must set all three attributes (expires_at 9223372036854775807 for never)
// and a version greater than the stored one.
//
// On Redis (redisstore) an item is the hash {<prefix>T}:row:<key> with the
// fields value, version and expires_at (numbers as decimal strings), the
// sorted set {<prefix>T}:keys orders the table's keys and
// {<prefix>T}:version is its version counter; package redisstore has the
// details.
//
// In a bbolt file (boltstore) each table is the bucket <prefix>T; a record
// is a 16-byte header (version, then expires_at, both big-endian int64)
// followed by the value.
//
// # Tables
//
// Each package that owns a table documents its keys and the JSON of its
// values; this list names them. A table is created by its first write.
//
//	table            owner             keys
//	tokens           shared/token      access_token/<appKey>, jsapi_ticket/<appKey>
//	                                   (token.Entry JSON), and the refresh leases
//	                                   lease/<kind>/<appKey> (shared/store/lease rows)
//	dir_users        shared/directory  userid
//	dir_departments  shared/directory  department id in decimal
//	dir_members      shared/directory  department id in decimal
//	dir_unionids     shared/directory  unionid
//	dir_state        shared/directory  status, walk/<id>/seen/… (an unfinished walk)
//	schedule         shared/schedule   steps (due times), lease/<step>
//	events           shared/events     event id (events.Entry), ~due/<ms>/<id> (the drain's index)
//	approvals        shared/approvals  process instance id (approvals.Approval)
//
// The tokens table is shared: on Tablestore and Redis it is always dingfn_tokens,
// whatever DINGFN_TABLE_PREFIX says (backend.Spec.SharedTables), so every
// deployment of an app on one instance reads one access token and one jsapi
// ticket; its keys carry the app key, so different apps never collide.
//
// Idempotency keys and sent-message records are tables of the notify
// package, documented there.
package store
