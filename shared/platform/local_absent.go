//go:build dingfn.fc || dingfn.lambda

package platform

// A platform build leaves local mode out: the local HTTP server and the
// local timer's flags and signal handling are of no use under FC or
// Lambda.
const localBuilt = false
