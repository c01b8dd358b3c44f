package platform

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/aliyun/fc-runtime-go-sdk/fccontext"
)

// The variables Function Compute fills from the function's role when an
// instance starts. They are the configured (start-up) credentials; the
// rotated ones come through RoleCredentials.
const (
	EnvAccessKeyID     = "ALIBABA_CLOUD_ACCESS_KEY_ID"
	EnvAccessKeySecret = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
	EnvSecurityToken   = "ALIBABA_CLOUD_SECURITY_TOKEN"
)

// Credentials are Alibaba Cloud credentials: an AccessKey pair and, for the
// temporary ones a role hands out, its STS token. The three belong
// together; a request signed with one value from one set and another from
// the next is refused.
type Credentials struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
}

// String shows the AccessKey id only.
func (c Credentials) String() string {
	return fmt.Sprintf("platform.Credentials{AccessKeyID: %q, AccessKeySecret: [redacted], SecurityToken: [redacted]}", c.AccessKeyID)
}

// GoString is String, so %#v does not print the secrets either.
func (c Credentials) GoString() string { return c.String() }

// LogValue logs the AccessKey id only.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("access_key_id", c.AccessKeyID))
}

// roleCredentials holds the latest credentials of the function's role. One
// pointer to one immutable set: a reader gets all three values of one
// rotation, never a mix of two.
type roleCredentials struct {
	p atomic.Pointer[Credentials]
}

// adopt takes the role credentials Function Compute sends with the
// invocation ctx belongs to. FC also sets ALIBABA_CLOUD_* when the instance
// starts, but the STS credentials behind them rotate while a warm instance
// lives, and only the invocation context has the current ones. An
// invocation without credentials keeps the previous set.
func (rc *roleCredentials) adopt(ctx context.Context) {
	lc, ok := fccontext.FromContext(ctx)
	if !ok || lc.Credentials.AccessKeyId == "" || lc.Credentials.AccessKeySecret == "" {
		return
	}
	next := Credentials{
		AccessKeyID:     lc.Credentials.AccessKeyId,
		AccessKeySecret: lc.Credentials.AccessKeySecret,
		SecurityToken:   lc.Credentials.SecurityToken,
	}
	if cur := rc.p.Load(); cur != nil && *cur == next {
		return
	}
	rc.p.Store(&next)
}

func (rc *roleCredentials) get() (Credentials, bool) {
	if c := rc.p.Load(); c != nil {
		return *c, true
	}
	return Credentials{}, false
}

// fcRole is the process's role credentials, filled by the FC adapter.
var fcRole roleCredentials

// RoleCredentials returns the current credentials of the function's role
// on Function Compute, as the latest invocation handed them over, all
// three values from one rotation. It reports false before the first
// invocation and on other runtimes; callers then use their configured
// credentials (on FC those are the ones the instance started with). Safe
// for concurrent use; cheap enough to call per request.
func RoleCredentials() (Credentials, bool) { return fcRole.get() }
