//go:build !(dingfn.fc || dingfn.lambda) || dingfn.tablestore

package backend

import (
	"context"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/otsstore"
)

const tablestoreBuilt = true

func openTablestore(_ context.Context, spec Spec) (store.Store, error) {
	var get otsstore.CredentialsFunc
	if spec.Credentials != nil {
		get = func() otsstore.Credentials { return otsstore.Credentials(spec.Credentials()) }
	}
	client, err := otsstore.NewClientFunc(spec.Endpoint, spec.Instance, otsstore.Credentials{
		AccessKeyID:     spec.AccessKeyID,
		AccessKeySecret: spec.AccessKeySecret,
		SecurityToken:   spec.SecurityToken,
	}, get)
	if err != nil {
		return nil, err
	}
	opts := []otsstore.Option{otsstore.WithTablePrefix(spec.prefix()), otsstore.WithSharedTables(spec.SharedTables...)}
	if spec.Clock != nil {
		opts = append(opts, otsstore.WithClock(spec.Clock))
	}
	if spec.Logger != nil {
		opts = append(opts, otsstore.WithLogger(spec.Logger))
	}
	return otsstore.New(client, opts...)
}
