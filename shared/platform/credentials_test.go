package platform

import (
	"context"
	"testing"

	"github.com/aliyun/fc-runtime-go-sdk/fccontext"
)

func TestAdoptFCCredentials(t *testing.T) {
	env := map[string]string{EnvAccessKeyID: "start-id", EnvAccessKeySecret: "start-secret", EnvSecurityToken: "start-sts"}
	getenv := func(k string) string { return env[k] }
	setenv := func(k, v string) error { env[k] = v; return nil }

	adoptFCCredentials(context.Background(), getenv, setenv)
	if env[EnvAccessKeyID] != "start-id" {
		t.Fatalf("no FC context: the environment must stay, got %v", env)
	}
	ctx := fccontext.NewContext(context.Background(), &fccontext.FcContext{})
	adoptFCCredentials(ctx, getenv, setenv)
	if env[EnvAccessKeySecret] != "start-secret" {
		t.Fatalf("an invocation without credentials must not clear them, got %v", env)
	}
	ctx = fccontext.NewContext(context.Background(), &fccontext.FcContext{Credentials: fccontext.Credentials{
		AccessKeyId: "rotated-id", AccessKeySecret: "rotated-secret", SecurityToken: "rotated-sts",
	}})
	adoptFCCredentials(ctx, getenv, setenv)
	want := map[string]string{EnvAccessKeyID: "rotated-id", EnvAccessKeySecret: "rotated-secret", EnvSecurityToken: "rotated-sts"}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s: got %q, want %q", k, env[k], v)
		}
	}
}
