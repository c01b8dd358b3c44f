// Package console is dingfn's local console: one page, served from files
// embedded in the binary (plain HTML, CSS and JavaScript modules, no build
// step), that shows a person what the bundle is doing — the organisation
// (DingTalk's, when simulated, and the directory mirror) as a tree, the
// event log live with a replay button, the sync's last report and a
// "sync now" button with progress, token health, the notices sent with
// their status and a form to send one, and the group-robot messages the
// simulated DingTalk received. When DingTalk is simulated, buttons change
// the simulated organisation or start an approval, so the push, the event
// and the mirror's change can be followed end to end.
//
// `dingfn dev` mounts it at / next to the functions; `dingfn console`
// serves it alone against a real configuration, without the simulator's
// buttons.
//
// The console is thin: every number and list comes from a feature package
// (directory, notify, schedule, token, events, dingtalktest), and every
// button calls one of their methods. What the page receives are the view
// types of this package, never the feature packages' stored rows, so it
// never receives a token, a ticket, a secret or another credential: the
// views have no field that could hold one.
//
// # Endpoints
//
//	GET  /                                 the page
//	GET  /console/static/{file}            its CSS and JavaScript
//	GET  /console/api/{view}               overview, org?source=mirror|simulator, events, sync,
//	                                       tokens, notices, robots, approvals: one view as JSON
//	GET  /console/api/stream               server-sent events: each view, again whenever it changes
//	POST /console/api/sync                 run the sync tick's steps now (202; progress on the stream)
//	POST /console/api/events/{id}/replay   replay an event of the log
//	POST /console/api/notices              send a work notice through notify
//	POST /console/api/simulator/{action}   change the simulated organisation or its approvals
//
// POST endpoints take and answer JSON (dingfn's error body on failure) and
// refuse a request from another origin, so that a web page elsewhere
// cannot drive them from the operator's browser.
package console
