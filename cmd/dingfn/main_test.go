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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), tt.args, &out, &errOut)
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
	err := run(ctx, []string{"tablestore-fake", "--addr", "127.0.0.1:0"}, &out, &errOut)
	assert.NoError(t, err, "a cancelled context is a clean shutdown")
	assert.Contains(t, out.String(), "DINGFN_STORE=tablestore")
}
