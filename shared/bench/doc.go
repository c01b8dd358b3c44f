// Package bench measures dingfn's headline figures in one process run and
// prints them as the markdown table README shows (`dingfn bench`, `make
// bench`): each figure a ratio to a yardstick measured in the same run on
// the same machine, next to its aim.
//
// The table is a registry of Measurements (see Measurements), each
// measuring the rows of one feature in one go: the callback crypto against
// the bare primitives, the callback's whole push with the event log
// against its crypto, the token cache's upstream calls under a cold burst,
// the directory walk against DingTalk's rate limit, notify's send calls
// against the fewest DingTalk's cap allows, and the deployed functions'
// start-up, memory and size against a hello world. A
// feature adds its rows by adding a Measurement there; README's table
// follows the registry's rows (a test holds it to them).
//
// Options.Quick runs everything in under a minute (CI runs it, so the
// command never rots); Options.Large adds the rows that need minutes and
// gigabytes (the 100 000-user walk). The start-up and size rows build the
// functions with the Makefile's flags (shared/deploy), so they need the
// dingfn source tree and the Go toolchain; the Lambda rows also need the
// Runtime Interface Emulator, which runtimetest installs from the Go
// module proxy once.
package bench
