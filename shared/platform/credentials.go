package platform

import (
	"context"
	"os"

	"github.com/aliyun/fc-runtime-go-sdk/fccontext"
)

// The variables Function Compute fills from the function's role.
const (
	EnvAccessKeyID     = "ALIBABA_CLOUD_ACCESS_KEY_ID"
	EnvAccessKeySecret = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
	EnvSecurityToken   = "ALIBABA_CLOUD_SECURITY_TOKEN"
)

// adoptFCCredentials copies the role credentials Function Compute sends with
// each invocation into the process environment. FC sets the variables when
// the instance starts, but the STS credentials behind them rotate while a
// warm instance lives; code that reads the environment per request (the
// Tablestore store does) then always signs with the current ones.
func adoptFCCredentials(ctx context.Context, getenv func(string) string, setenv func(string, string) error) {
	lc, ok := fccontext.FromContext(ctx)
	if !ok || lc.Credentials.AccessKeyId == "" || lc.Credentials.AccessKeySecret == "" {
		return
	}
	for _, kv := range [][2]string{
		{EnvAccessKeyID, lc.Credentials.AccessKeyId},
		{EnvAccessKeySecret, lc.Credentials.AccessKeySecret},
		{EnvSecurityToken, lc.Credentials.SecurityToken},
	} {
		if getenv(kv[0]) != kv[1] {
			setenv(kv[0], kv[1])
		}
	}
}

// osAdoptFCCredentials is adoptFCCredentials on the real environment.
func osAdoptFCCredentials(ctx context.Context) { adoptFCCredentials(ctx, os.Getenv, os.Setenv) }
