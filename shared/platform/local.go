//go:build !(dingfn.fc || dingfn.lambda)

package platform

// localBuilt says this build has local mode: a build for neither
// platform, such as go run.
const localBuilt = true
