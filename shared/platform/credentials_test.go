package platform

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aliyun/fc-runtime-go-sdk/fccontext"
)

func fcInvocation(id, secret, sts string) context.Context {
	return fccontext.NewContext(context.Background(), &fccontext.FcContext{Credentials: fccontext.Credentials{
		AccessKeyId: id, AccessKeySecret: secret, SecurityToken: sts,
	}})
}

func TestAdoptFCCredentials(t *testing.T) {
	t.Parallel()
	var rc roleCredentials
	rc.adopt(context.Background())
	if _, ok := rc.get(); ok {
		t.Fatal("no FC context: there must be no role credentials")
	}
	rc.adopt(fcInvocation("start-id", "start-secret", "start-sts"))
	rc.adopt(fccontext.NewContext(context.Background(), &fccontext.FcContext{}))
	if c, _ := rc.get(); c.AccessKeySecret != "start-secret" {
		t.Fatalf("an invocation without credentials must not clear them, got %v", c)
	}
	rc.adopt(fcInvocation("rotated-id", "rotated-secret", "rotated-sts"))
	want := Credentials{AccessKeyID: "rotated-id", AccessKeySecret: "rotated-secret", SecurityToken: "rotated-sts"}
	if c, ok := rc.get(); !ok || c != want {
		t.Errorf("got %+v, want %+v", c, want)
	}
	s := fmt.Sprintf("%v %+v %#v %s", want, want, want, want)
	if strings.Contains(s, "rotated-secret") || strings.Contains(s, "rotated-sts") || !strings.Contains(s, "rotated-id") {
		t.Errorf("credentials printed with their secrets: %s", s)
	}
}

// A reader never sees values of two rotations mixed, however the rotations
// and the reads interleave (run with -race). With the three values in
// three environment variables, as before, a reader could get the id of one
// set and the secret of the next.
func TestRoleCredentialsNeverMixed(t *testing.T) {
	t.Parallel()
	var rc roleCredentials
	rc.adopt(fcInvocation("id-0", "secret-0", "sts-0"))
	const writers, rotations, readers = 4, 500, 4
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			for i := range rotations {
				n := fmt.Sprint(w*rotations + i)
				rc.adopt(fcInvocation("id-"+n, "secret-"+n, "sts-"+n))
			}
		})
	}
	var readersWG sync.WaitGroup
	errs := make(chan string, readers)
	for range readers {
		readersWG.Go(func() {
			for {
				c, ok := rc.get()
				n := strings.TrimPrefix(c.AccessKeyID, "id-")
				if !ok || c.AccessKeySecret != "secret-"+n || c.SecurityToken != "sts-"+n {
					errs <- fmt.Sprintf("mixed set: %q %q %q", c.AccessKeyID, c.AccessKeySecret, c.SecurityToken)
					return
				}
				select {
				case <-stop:
					return
				default:
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readersWG.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
