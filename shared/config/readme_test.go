package config

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The README documents the contract; this keeps the two in step.
func TestREADMEDocumentsEveryVariable(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	readme := string(b)
	for _, v := range Vars() {
		assert.Contains(t, readme, "`"+v.Name+"`", "README's configuration table misses %s", v.Name)
	}
	head := strings.Join(strings.SplitN(readme, "\n", 8)[:7], "\n")
	assert.Contains(t, head, "go run ./cmd/dingfn dev", "the README starts with the run command")
	assert.Contains(t, head, "go test -race ./...", "the README starts with the test command")
	ci, err := os.ReadFile("../../.ci/run")
	require.NoError(t, err)
	assert.Contains(t, string(ci), "go test -race", "CI runs the README's test command")
}
