package otsstore_test

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/otsstore"
	"github.com/dingfn/dingfn/shared/store/storetest"
)

// realClient returns a client for the instance named by
// TABLESTORE_TEST_ENDPOINT, TABLESTORE_TEST_INSTANCE and the
// ALIBABA_CLOUD_* credentials, or skips.
func realClient(t testing.TB) *tablestore.TableStoreClient {
	endpoint, instance := os.Getenv("TABLESTORE_TEST_ENDPOINT"), os.Getenv("TABLESTORE_TEST_INSTANCE")
	cred := otsstore.Credentials{
		AccessKeyID:     os.Getenv("ALIBABA_CLOUD_ACCESS_KEY_ID"),
		AccessKeySecret: os.Getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
		SecurityToken:   os.Getenv("ALIBABA_CLOUD_SECURITY_TOKEN"),
	}
	if endpoint == "" || instance == "" || cred.AccessKeyID == "" || cred.AccessKeySecret == "" {
		t.Skip("real Tablestore not configured: set TABLESTORE_TEST_ENDPOINT, TABLESTORE_TEST_INSTANCE, ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET to run the contract suite against an instance (it creates and deletes dingfntest_* tables)")
	}
	c, err := otsstore.NewClient(endpoint, instance, cred)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// openReal gives each store its own random table prefix and deletes the
// tables it created afterwards.
func openReal(t testing.TB, clock store.Clock) store.Store {
	client := realClient(t)
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	prefix := "dingfntest_" + hex.EncodeToString(b[:]) + "_"
	s, err := otsstore.New(client, otsstore.WithClock(clock), otsstore.WithTablePrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		list, err := client.ListTable()
		if err != nil {
			t.Errorf("listing tables to clean up %s*: %v", prefix, err)
			return
		}
		for _, name := range list.TableNames {
			if strings.HasPrefix(name, prefix) {
				if _, err := client.DeleteTable(&tablestore.DeleteTableRequest{TableName: name}); err != nil {
					t.Errorf("deleting test table %s: %v", name, err)
				}
			}
		}
	})
	return s
}

func TestContractRealTablestore(t *testing.T) {
	realClient(t) // skip early, with the reason, when not configured
	storetest.Run(t, openReal)
}

func BenchmarkStoreRealTablestore(b *testing.B) { storetest.Benchmark(b, openReal) }
