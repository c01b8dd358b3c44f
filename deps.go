//go:build tools

package dingfn

import (
	_ "github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
	_ "github.com/aliyun/fc-runtime-go-sdk/fc"
	_ "github.com/aws/aws-lambda-go/lambda"
	_ "github.com/awslabs/goformation/v7"
	_ "github.com/santhosh-tekuri/jsonschema/v6"
	_ "github.com/stretchr/testify/require"
	_ "go.etcd.io/bbolt"
	_ "go.yaml.in/yaml/v3"
	_ "golang.org/x/sync/singleflight"
	_ "golang.org/x/time/rate"
)
