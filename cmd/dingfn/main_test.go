package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunCommands(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
		wantOut string
	}{
		{name: "no command", args: nil, wantErr: "missing command"},
		{name: "unknown", args: []string{"deploy"}, wantErr: `unknown command "deploy"`},
		{name: "help", args: []string{"help"}, wantOut: "tablestore-fake"},
		{name: "dev bad flag", args: []string{"dev", "--port", "1"}, wantErr: "flag provided but not defined"},
		{name: "console without configuration", args: []string{"console"}, wantErr: "DINGTALK_APP_KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), tt.args, &out, &errOut, noEnv)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Contains(t, out.String(), tt.wantOut)
		})
	}
}

func TestTablestoreFakeStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut bytes.Buffer
	err := run(ctx, []string{"tablestore-fake", "--addr", "127.0.0.1:0"}, &out, &errOut, noEnv)
	assert.NoError(t, err, "a cancelled context is a clean shutdown")
	assert.Contains(t, out.String(), "DINGFN_STORE=tablestore")
}

func noEnv(string) string { return "" }

// The commands log as the functions do: DINGFN_LOG_FORMAT and
// DINGFN_LOG_LEVEL apply (dev and tablestore-fake share one logger).
func TestLogSettings(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		wantLine string // "" means no line
	}{
		{"text by default", nil, "level=INFO msg=\"tablestore emulator listening\""},
		{"json on request", map[string]string{"DINGFN_LOG_FORMAT": "json"}, `"msg":"tablestore emulator listening"`},
		{"level warn hides info", map[string]string{"DINGFN_LOG_LEVEL": "warn"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			var out, errOut bytes.Buffer
			err := run(ctx, []string{"tablestore-fake", "--addr", "127.0.0.1:0"}, &out, &errOut, func(k string) string { return tt.env[k] })
			require.NoError(t, err)
			if tt.wantLine == "" {
				assert.Empty(t, errOut.String())
				return
			}
			assert.Contains(t, errOut.String(), tt.wantLine)
		})
	}
}
