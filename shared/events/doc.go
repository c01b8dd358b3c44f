// Package events is dingfn's event log: every DingTalk (钉钉) callback
// event is written to the store before DingTalk is answered, processed
// once by the handlers registered on a Mux, retried from the log until it
// is done or dead, and kept for DINGFN_EVENT_RETENTION.
//
// # Flow
//
// The callback (package callback) verifies and decrypts a push and hands
// it to Service.Dispatch (other features log their own events, with ids
// of their own, through Service.Process the same way):
//
//  1. The event gets its id (EventID): DingTalk's eventId, or an id
//     derived from what identifies the event, so a redelivery, an exact
//     replay and the same event recovered from get_call_back_failed_result
//     share one id.
//  2. It is logged with one conditional write (IfAbsent). If the write
//     fails the callback answers 5xx and DingTalk sends the event again;
//     if the id is already logged (a redelivery or replay) the push is
//     acknowledged and nothing runs again.
//  3. New events are processed inline, within a budget (DefaultBudget,
//     1.1 s in all) that keeps the reply well inside DingTalk's 1500 ms
//     even when DingTalk's API or the store is slow: handlers run
//     concurrently until the processing share of the budget ends, then
//     the outcome is recorded. Whatever did not finish stays in the log.
//     Work after the reply is not relied on: Function Compute and Lambda
//     freeze the instance once it has answered.
//  4. The sync function's tick drains the log (Drain): due events are
//     processed again, running only the handlers that have not
//     succeeded; a failure is retried after a back-off (1 min doubling to
//     1 h, plus up to a fifth), and after DINGFN_EVENT_MAX_ATTEMPTS
//     failures of one handler the event is dead: kept, listed (List),
//     replayable (Replay). The tick also recovers failed pushes (Recover)
//     and purges expired rows (Purge).
//
// Handlers must be idempotent and honour their context: an event reaches
// a handler again after a failure, a lost outcome or a replay, and a
// handler still running when its budget ends may overlap its retry.
// Together the log, dedupe and idempotent handlers make every event take
// effect once.
//
// # The events table
//
// Logical name "events" (DINGFN_TABLE_PREFIX applies). Two kinds of row:
//
//	key                          value
//	<event id>                   Entry: {"id","type","corp_id","received_at","event_time","source",
//	                             "payload":{…the decrypted event…},"status","attempts","last_error",
//	                             "next_attempt_at","results":{"<handler>":{"status","attempts",
//	                             "last_error","at"}},"updated_at"}
//	~due/<ms, 15 digits>/<id>    {"id","due_at"}: the drain's index
//
// status is pending, done, failed or dead; last_error is redacted
// (package redact). Every row expires with its event, received_at plus
// the retention. Event ids are 1-128 of [A-Za-z0-9_.-], so every event
// key sorts before "~": readers scan ["", "~") for events.
//
// # Finding due events without scanning the log
//
// The drain reads index rows, whose keys sort by due time, from "~due/"
// up to now, so a drain costs one short range read plus a read per due
// event, however many events the retention keeps. The index is kept
// consistent without transactions by two rules: an index row is written
// before (or, at insert, in the same batch as) the event state that needs
// it, and the drain removes a row only once the event's new state is
// stored. So a non-final event always has a row due no later than its
// next attempt; stale rows (of events done since, or moved to a later
// time) cost one read when the drain meets them, and it drops them. The
// callback writes the index row with the event, due after a grace
// (DefaultGrace, 1 min) so the drain never takes an event the callback is
// still processing, and writes no other: a crash at any point leaves the
// event where the next drain finds it. On the reply path the log costs
// one conditional write (a batch of the event and its index row; a single
// put when no handler wants the event), plus, when handlers ran, a read
// and a conditional write for their outcome.
//
// # Handlers
//
// A Mux routes an event to every handler whose pattern matches its type
// (an exact type, a prefix ending in '*', or '*'), each recorded under its
// route name, so one failing handler is retried without re-running the
// others. Typed accessors (Event.User, Department, ApprovalInstance, …)
// read DingTalk's mixed spellings; their *ParseError is permanent. The
// built-in handlers re-fetch contacts into the directory mirror
// (RegisterContacts) and approval instances into the approvals table
// (RegisterApprovals); RegisterForwards posts events, signed, to your
// URLs. Build puts them together with your own (package handlers).
// WithHandlerContext lets a feature hand its handlers what they need
// beyond the event, inline and in the drain alike: package chatbot's chat
// handlers get their session-webhook sender that way.
package events
