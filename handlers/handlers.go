// Package handlers is where your own event and chat handlers go. Register
// is called by the callback function, which runs handlers inline when an
// event or a robot message arrives, and by the sync function's drain,
// which retries what failed or ran out of time, so both run the same
// handlers (and `dingfn dev` too).
//
// dingfn registers nothing here; in your fork, add a few lines. A handler
// must be idempotent (an event may reach it again after a failure or a
// replay) and should return within about half a second when it can, since
// the callback answers DingTalk within 1500 ms; a slower handler is
// finished by the drain. Return an error to be retried with back-off, or
// events.Permanent(err) (a payload parse error is one) to give up.
package handlers

import "github.com/dingfn/dingfn/shared/events"

// Register adds your handlers to m, for example:
//
//	m.HandleFunc("user_add_org", func(ctx context.Context, ev *events.Event) error {
//		u, err := ev.User() // typed payload; a *events.ParseError is permanent
//		if err != nil {
//			return err
//		}
//		return welcome(ctx, u.UserIDs) // your code
//	})
//	m.HandleFunc("bpms_*", func(ctx context.Context, ev *events.Event) error { … })
//
// A chat handler answers what people write to the app's robot (package
// chatbot): within the request's time the reply goes back in the HTTP
// answer, later through the message's session webhook.
//
//	chatbot.HandleFunc(m, "echo", func(ctx context.Context, msg *chatbot.Message, reply chatbot.ReplyFunc) error {
//		return reply(ctx, dingtalk.RobotText("你说："+msg.PlainText()))
//	})
func Register(m *events.Mux) {}
