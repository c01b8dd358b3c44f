// Package notify is the HTTP API dingfn's users call, and the service
// behind it: DingTalk work notices (工作通知) with batching, idempotency and
// delivery status; messages as the app's robot (企业机器人) with the same
// model; group-robot (自定义机器人) messages; dd.config signatures;
// login-code exchange; directory reads from the mirror.
//
// [Service] is usable from Go (the command line calls it directly);
// [Handler] is its /v1 HTTP API on a net/http.ServeMux, authenticated by
// bearer keys (NOTIFY_API_KEYS) and identical on Function Compute, Lambda
// and `dingfn dev`. [OpenAPI] is the API's OpenAPI 3.1 document.
//
// # Work notices
//
// A request is validated with the DingTalk client's typed validation
// (*dingtalk.ValidationError becomes 400 invalid_message, naming the
// field as DingTalk spells it), then split into the fewest DingTalk calls
// ("parts"): 100 userids, 20 departments, or to_all, per call. The parts
// are written to the store (conditional batch) before the notice row,
// and the notice row before anything is sent. Each part is then claimed
// (pending → sending, a compare-and-swap on its row), sent, and its
// outcome recorded:
//
//	pending → sending → sent      DingTalk answered with a task id
//	                  → failed    DingTalk refused it; nothing was sent
//	                  → unknown   no answer (timeout, dropped connection,
//	                              5xx): it may have been sent, so it never is again
//	                  → pending   refused for a passing reason (rate limit,
//	                              busy, token); the sync tick tries later
//	sending (claim expired) → unknown   its instance died before recording
//	pending → cancelled           recalled before it was sent
//
// DingTalk drops recipients beyond 5 000 a minute per app without an
// error, so every instance takes recipients from one sliding-window
// budget in the store (LimitsTable). A request sends the parts the budget
// allows now; [Service.SendDue], a step of the sync function's tick
// every minute, sends the rest, and also finishes notices whose instance
// died between two parts. Warnings say what DingTalk would otherwise do
// silently, from a per-day record of what each person was sent
// (DailyTable).
//
// # The app's robot
//
// A robot message (SendRobotMessage, POST /v1/robot/messages) is a record
// of kind KindRobotMessage in the same table, with the same parts, claims,
// outcomes and due list: one part per DingTalk call (20 userids one to
// one, or the one group), drawing on the robot's 6 000 messages a minute,
// counted in LimitsTable. Its status reads DingTalk's read state (who
// read and who did not one to one; who read, for a group), its recall
// recalls every sent call.
//
// # Idempotency
//
// A request with an Idempotency-Key claims the key (IfAbsent) together
// with the id of the notice it will create. A second request with the
// same key and canonical body waits for the first answer and returns it;
// with another body it is a 422. A claim whose owner did not answer within
// DefaultClaimTTL is taken over (IfVersion) by the next request with the
// key, which finishes the same notice: the parts already sent are never
// sent again. The model (idempotency rows of IdempotencyTable, scoped by
// endpoint and caller) is shared by every endpoint that creates
// something: notices, group-robot messages and the app robot's messages.
//
// # Tables
//
// The store tables (logical names; DINGFN_TABLE_PREFIX applies) and their
// JSON values are a public contract, documented in the README: notices
// and their parts (NoticesTable), the due list (DueTable), idempotency
// keys (IdempotencyTable), the shared budgets (LimitsTable) and the daily
// record (DailyTable).
package notify
