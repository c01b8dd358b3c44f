// Package chatbot receives the messages people send the app's robot
// (企业内部应用机器人) in HTTP mode, and runs your chat handlers on them.
//
// # Receiving
//
// DingTalk posts each message (someone @-mentioned the robot in a group,
// or wrote to it one to one) to the robot's message URL: the callback
// function's /robot path (NewHandler). The request is verified by its
// timestamp and sign headers (HMAC-SHA256 keyed by the app secret, within
// an hour of now), parsed (ParseMessage: every msgtype typed, unknown ones
// kept as sent) and logged in the event log as an EventType event whose id
// (EventID) comes from msgId, so DingTalk's redelivery is acknowledged and
// answered by nobody. Nothing about a message's content, nor its session
// webhook, is ever logged.
//
// # Answering
//
// Chat handlers are registered on the event log's Mux (Handle, HandleFunc,
// in package handlers' Register) and get the typed Message and a
// ReplyFunc. The log runs them inline within its time budget: the first
// reply given in that time goes back in the HTTP answer, which DingTalk
// posts in the conversation; later replies, and replies from a run the
// drain finishes (the handler was too slow, or failed and is retried), go
// through the message's session webhook (Replies wires it: the app's
// DingTalk client posts to robot/sendBySession) until it expires. A reply
// that can no longer be delivered fails the handler's run permanently:
// the event is dead with the reason, never silently dropped.
//
// # Files
//
// A handler's message fetches its own files (DownloadCodes, Download,
// DownloadURL) as the robot that received it, through the client Replies
// was given. A download code DingTalk no longer accepts fails the run for
// good with DingTalk's *dingtalk.Error (dingtalk.CodeDownloadCodeInvalid).
package chatbot
