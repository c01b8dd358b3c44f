package otsstore

import (
	"fmt"
	"net/url"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/common"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

	"github.com/dingfn/dingfn/shared/store"
)

// Credentials are the Alibaba Cloud credentials Tablestore signs requests
// with. Function Compute injects temporary ones (with a SecurityToken) from
// the function's role.
type Credentials struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
}

// String hides the secrets, so that logging Credentials by mistake leaks nothing.
func (c Credentials) String() string {
	return fmt.Sprintf("otsstore.Credentials{AccessKeyID: %q, AccessKeySecret: [redacted], SecurityToken: [redacted]}", c.AccessKeyID)
}

// GoString keeps %#v from printing the secrets.
func (c Credentials) GoString() string { return c.String() }

// NewClient returns an SDK client for instance at endpoint with timeouts
// that suit functions: connecting may take 3s and a request 10s, and
// retries of throttling and transient errors stop after 5s, well inside a
// function's timeout. The SDK's own defaults (15s to connect, 30s per
// request) would outlive most invocations.
func NewClient(endpoint, instance string, cred Credentials) (*tablestore.TableStoreClient, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("otsstore: %w: endpoint %q is not an http(s) URL", store.ErrInvalid, endpoint)
	}
	if instance == "" || cred.AccessKeyID == "" || cred.AccessKeySecret == "" {
		return nil, fmt.Errorf("otsstore: %w: instance, access key id and access key secret are all required", store.ErrInvalid)
	}
	cfg := tablestore.NewDefaultTableStoreConfig()
	cfg.HTTPTimeout.ConnectionTimeout = 3 * time.Second
	cfg.HTTPTimeout.RequestTimeout = 10 * time.Second
	cfg.MaxRetryTime = 5 * time.Second
	cfg.MaxIdleConnections = 16
	return tablestore.NewClientWithConfig(endpoint, instance, cred.AccessKeyID, cred.AccessKeySecret, cred.SecurityToken, cfg), nil
}

// CredentialsFunc returns the credentials to sign the next request with.
type CredentialsFunc func() Credentials

// NewClientFunc is NewClient for temporary credentials that rotate while
// the process lives (Function Compute's role credentials): get is called
// for every request, so a rotated STS token is used as soon as it appears.
// initial is checked like NewClient's credentials.
func NewClientFunc(endpoint, instance string, initial Credentials, get CredentialsFunc) (*tablestore.TableStoreClient, error) {
	c, err := NewClient(endpoint, instance, initial)
	if err != nil {
		return nil, err
	}
	if get != nil {
		tablestore.SetCredentialsProvider(credentialsProvider(get))(c)
	}
	return c, nil
}

type credentialsProvider CredentialsFunc

func (f credentialsProvider) GetCredentials() common.Credentials {
	c := f()
	return &common.DefaultCredentials{AccessKeyID: c.AccessKeyID, AccessKeySecret: c.AccessKeySecret, SecurityToken: c.SecurityToken}
}
