package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/dingfn/dingfn/shared/httpapi"
	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/record"
)

// idemRow is a row of the idempotency table: the first request made with
// a key and, once given, its answer. See the package documentation.
type idemRow struct {
	Scope  string `json:"scope"`
	Caller string `json:"caller"`
	Key    string `json:"key"`
	// Hash is the SHA-256 of the request's canonical form.
	Hash string `json:"hash"`
	// Resource is the id of what the request creates (a notice id),
	// chosen when the key is claimed, so whoever finishes the request
	// finishes the same thing.
	Resource string `json:"resource"`
	// Owner is carrying the request out until OwnerUntil; past it,
	// another instance may take over.
	Owner      string    `json:"owner"`
	OwnerUntil time.Time `json:"owner_until"`
	// Status and Answer are the first answer, once given.
	Status    int             `json:"status,omitempty"`
	Answer    json.RawMessage `json:"answer,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
}

// idempotency gives requests carrying an Idempotency-Key exactly one
// effect. One request claims the key (IfAbsent); the others with the same
// key and body wait for its answer and return it; a claim whose owner
// died is taken over (IfVersion) by the next request, which finishes the
// same resource. It knows nothing of notices, so any endpoint (group-robot
// messages, the app robot's messages) uses it the same way:
//
//	c, err := idem.begin(ctx, scope, caller, key, hash, newID)
//	if c.replay != nil { answer c.replay }   // the first answer
//	… create or resume c.row.Resource …
//	idem.finish(ctx, c, status, answer)      // or idem.release if nothing was done
type idempotency struct {
	st     store.Store
	table  string
	now    func() time.Time
	holder func() string // see Service.holder
	// ttl is how long a key and its answer are remembered; claimTTL how
	// long an owner has before others may take over; wait how long a
	// request waits for another's answer.
	ttl, claimTTL, wait time.Duration
	// pause waits between polls; tests replace it.
	pause func(ctx context.Context, d time.Duration) error
}

// claim is the outcome of begin.
type claim struct {
	row     idemRow
	version int64
	// replay is the stored first answer, when there is one.
	replay *replay
	// takenOver is set when the key was claimed from an owner that did
	// not finish: the resource may exist already, partly done.
	takenOver bool
}

// replay is a first answer to return again.
type replay struct {
	Status int
	Answer json.RawMessage
}

// requestHash is the hash of a request's canonical JSON.
func requestHash(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("notify: hash request: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

func idemKey(scope, caller, key string) string { return scope + "/" + caller + "/" + key }

// begin claims key for a request with hash, or finds the first answer.
// newID is called for a fresh claim to name the resource.
func (i *idempotency) begin(ctx context.Context, scope, caller, key, hash string, newID func() string) (claim, error) {
	k := idemKey(scope, caller, key)
	// The wait is bounded by the pauses taken, not by the clock: another
	// instance's progress is measured in real time, and a test's manual
	// clock does not move by itself.
	pause, waited := 20*time.Millisecond, time.Duration(0)
	id := newID()
	for {
		now := i.now()
		row := idemRow{Scope: scope, Caller: caller, Key: key, Hash: hash, Resource: id,
			Owner: i.holder(), OwnerUntil: now.Add(i.claimTTL), CreatedAt: now}
		rec, err := record.Put(ctx, i.st, i.table, k, row, store.IfAbsent, now.Add(i.ttl))
		if err == nil {
			return claim{row: rec.Value, version: rec.Version}, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return claim{}, fmt.Errorf("notify: claim idempotency key: %w", err)
		}
		cur, err := record.Get[idemRow](ctx, i.st, i.table, k)
		if errors.Is(err, store.ErrNotFound) {
			continue // released or expired in between: claim again
		}
		if err != nil {
			return claim{}, fmt.Errorf("notify: read idempotency key: %w", err)
		}
		if cur.Value.Hash != hash {
			return claim{}, &Error{Status: http.StatusUnprocessableEntity, Body: errBody(CodeIdempotencyKeyReused,
				"this Idempotency-Key was first used with a different request body; use a new key for a different request")}
		}
		if cur.Value.Answer != nil {
			return claim{row: cur.Value, version: cur.Version, replay: &replay{Status: cur.Value.Status, Answer: cur.Value.Answer}}, nil
		}
		if now.After(cur.Value.OwnerUntil) {
			// The owner died before answering: take over its resource.
			next := cur.Value
			next.Owner, next.OwnerUntil = i.holder(), now.Add(i.claimTTL)
			rec, err := record.Put(ctx, i.st, i.table, k, next, store.IfVersion(cur.Version), cur.ExpiresAt)
			if err == nil {
				return claim{row: rec.Value, version: rec.Version, takenOver: true}, nil
			}
			if !errors.Is(err, store.ErrConflict) {
				return claim{}, fmt.Errorf("notify: take over idempotency key: %w", err)
			}
			continue
		}
		if waited >= i.wait {
			wait := max(cur.Value.OwnerUntil.Sub(now), time.Second)
			return claim{}, &Error{Status: http.StatusConflict, RetryAfter: min(wait, 5*time.Second), Body: errBody(CodeIdempotencyInProgress,
				"a request with this Idempotency-Key is still being carried out; retry with the same key and body to get its answer")}
		}
		if err := i.pause(ctx, pause); err != nil {
			return claim{}, err
		}
		waited += pause
		pause = min(2*pause, 500*time.Millisecond)
	}
}

// finish stores the first answer of a claimed key, unless another owner
// stored one first, in which case that one is returned.
func (i *idempotency) finish(ctx context.Context, c claim, status int, answer any) (replay, error) {
	b, err := json.Marshal(answer)
	if err != nil {
		return replay{}, fmt.Errorf("notify: encode answer: %w", err)
	}
	k := idemKey(c.row.Scope, c.row.Caller, c.row.Key)
	rec, err := record.Update(ctx, i.st, i.table, k, func(cur idemRow, found bool) (idemRow, error) {
		if !found {
			cur = c.row // expired meanwhile: remember it again
		}
		if cur.Answer != nil {
			return cur, record.ErrNoChange
		}
		cur.Status, cur.Answer, cur.OwnerUntil = status, b, time.Time{}
		return cur, nil
	}, record.WithExpiry(func(r idemRow) time.Time { return r.CreatedAt.Add(i.ttl) }))
	if err != nil {
		return replay{}, fmt.Errorf("notify: store answer: %w", err)
	}
	return replay{Status: rec.Value.Status, Answer: rec.Value.Answer}, nil
}

// release forgets a claim whose request did nothing (refused before any
// effect), so that the same key may be used again.
func (i *idempotency) release(ctx context.Context, c claim) error {
	err := i.st.Delete(ctx, i.table, idemKey(c.row.Scope, c.row.Caller, c.row.Key), store.IfVersion(c.version))
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("notify: release idempotency key: %w", err)
	}
	return nil
}

func errBody(code, msg string) httpapi.ErrorBody { return httpapi.ErrorBody{Error: code, Message: msg} }
