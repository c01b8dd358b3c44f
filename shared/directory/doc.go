// Package directory keeps a mirror of the DingTalk organisation (通讯录) in
// the store — departments, users, who belongs where, and unionid → userid —
// so that services answer "who is this user, who is in this department"
// without calling DingTalk, and a scan login (which yields a unionid) maps
// to an employee at once.
//
// Three parts:
//
//   - Reader answers from the mirror: a user by userid or unionid, a
//     department, its children, its members (direct or recursive), every
//     user or department, and the sync's status.
//   - Writer is the one guarded write path. Every upsert is conditional on
//     the version read, so a writer that read before another one wrote
//     never overwrites the newer row. SyncUser and SyncDepartment re-fetch
//     one record and write it (contact events use them); a record DingTalk
//     answers "not found" for is removed.
//   - Syncer walks the whole organisation: breadth first from the root,
//     department/get and listsubid for each department (a tree lane running
//     ahead) and every v2/user/list page of its members, through the
//     client's per-API rate limiter. It diffs each record against a content
//     hash, so an unchanged organisation costs no record write; writes what
//     changed in conditional batches; saves its place when its deadline
//     comes, so a walk spans any number of ticks; and once a walk is
//     complete, removes what it did not see — unless that is more than the
//     deletion guard (DeleteLimit) allows, when it removes nothing and
//     fails with a *GuardError. Its Step runs it in the sync function's
//     tick (package schedule). Its Diff is a dry run of the same walk —
//     one code path whose decisions go to a plan instead of the store —
//     that writes nothing and returns the users and departments a walk
//     would create, update or remove, with the fields that changed and
//     the guard's verdict (`dingfn sync --dry-run`, `dingfn directory
//     diff`).
//
// # Tables
//
// The tables are a public contract for readers in any language (logical
// names; DINGFN_TABLE_PREFIX applies). Values are UTF-8 JSON objects.
//
//	dir_users        key userid
//	                 {"userid","unionid","name","title","mobile","email","org_email",
//	                  "job_number","manager_userid","dept_ids":[1,2],
//	                  "dept_orders":[{"dept_id":1,"order":0}],"leader_in":[2],
//	                  "active","admin","boss","raw":{…},"hash","changed_at",
//	                  "left_at" (tombstones only)}
//	dir_departments  key department id in decimal
//	                 {"dept_id","name","parent_id" (0 for the root),"order",
//	                  "manager_userids":[…],"raw":{…},"hash","changed_at"}
//	dir_members      key department id in decimal
//	                 {"dept_id","userids":[…] (direct members, sorted),"hash","changed_at"}
//	dir_unionids     key unionid
//	                 {"unionid","userid"} — current members only
//	dir_state        key "status": the last complete walk and the checkpoint
//	                 of an unfinished one (Status); keys "walk/<id>/seen/…":
//	                 an unfinished walk's seen-set, deleted when it completes
//
// Empty optional fields are left out. mobile, email and org_email are there
// only when the app's contact permissions return them. raw is DingTalk's
// record with sorted keys, minus what depends on the call that returned it
// (a listing's dept_order and leader, user/get's dept_order_list,
// leader_in_dept and role_list — folded into dept_orders and leader_in —
// and a department's member counts). hash covers every other field;
// changed_at is when the mirror last stored a different hash, so an
// unchanged record is never rewritten just to stamp it (the time of the
// last complete walk is in dir_state). A user who left keeps a tombstone
// with left_at, which expires after the retention (90 days by default), so
// "who was this userid" still answers; their unionid row goes at once.
// Recursive membership is computed at read time from the departments'
// parent_id and the members rows, so it stays right however the rows were
// written. A members row holds up to about 40 000 userids (the store's
// 1 MB value limit); a bigger department fails the walk with the store's
// ErrInvalid naming it.
//
// # Multi-department users
//
// A user in several departments appears in each department's listing,
// which gives only that department's order and leadership. The walk
// gathers them per user (starting from what the mirror holds for the
// departments not listed yet), so the user row is written only when
// something changed, whichever department lists it first.
//
// # Contact scope
//
// An app whose contact scope (通讯录权限范围) covers part of the
// organisation mirrors that part: a department DingTalk answers 50004 for
// is skipped and its sub-departments are still walked (listsubid ignores
// the scope). A scope narrowed after the mirror was made looks like a mass
// departure, which the deletion guard stops.
//
// # Concurrency with events
//
// A conditional write that finds a newer row (a contact event re-fetched
// the user after the walk read the mirror) keeps that row and re-reads it;
// the walk goes on. A record written after a walk started is never removed
// by that walk.
package directory
