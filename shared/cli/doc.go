// Package cli is the dingfn command line: the tree of operator commands
// (callback, token, jsapi, login, call, events, send, notices, robot,
// sync, directory, dev, tablestore-fake, completion),
// how their results are shown — aligned tables for a person, one JSON
// document with --json — and the exit codes that tell a script what went
// wrong (0 ok, 1 failure, 2 usage, 3 configuration, 4 DingTalk error, 5 a
// guard refused, 6 not found, 130 interrupted).
//
// cmd/dingfn is wiring over [Main]. Commands read the same environment
// contract as the functions (shared/config), overlaid by the dotenv files
// of --env-file, and require only the variables they use
// (config.LoadFor), so a missing one is named with the command that needs
// it. They open the store, DingTalk client and token cache through
// shared/bundle and build features with shared/functions' builders
// (functions.SyncRunner, functions.NotifyService, functions.Events),
// exactly as a deployed
// function does; send, notices and robot can instead call a deployed
// notify's /v1 API (--api). They hold no logic of their own beyond
// presenting what the feature packages return: a failure
// is printed with what fixes it (a DingTalk errcode with
// dingtalk.Error.Meaning, each missing variable, the flag to pass).
//
// Commands never print a secret: tokens and tickets are shown as their
// expiry and fetcher (token.Status), a callback's token and AES key as
// whether they match the configuration, and every error text passes
// through shared/redact.
package cli
