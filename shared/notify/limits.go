package notify

import (
	"context"
	"fmt"
	"time"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/record"
)

// window is a sliding-window counter kept in one store row, so that every
// instance of notify draws on one budget: how many units (recipients, robot
// messages) were spent when, over the last span. A sliding window is
// stricter than DingTalk's own accounting, whichever way DingTalk cuts its
// minutes, so notify never exceeds it.
type window struct {
	Spent []spend `json:"spent"` // oldest first
}

type spend struct {
	At time.Time `json:"at"`
	N  int       `json:"n"`
}

// used drops what left the window at now and returns what is still in it.
func (w *window) used(now time.Time, span time.Duration) int {
	keep := w.Spent[:0]
	n := 0
	for _, s := range w.Spent {
		if now.Sub(s.At) < span {
			keep = append(keep, s)
			n += s.N
		}
	}
	w.Spent = keep
	return n
}

// freeAt returns when at least need units will be free again, given limit.
func (w *window) freeAt(now time.Time, span time.Duration, limit, need int) time.Time {
	used := 0
	for _, s := range w.Spent {
		used += s.N
	}
	for _, s := range w.Spent {
		if limit-used >= need {
			break
		}
		used -= s.N
		now = s.At.Add(span)
	}
	return now
}

// take reserves up to want units, but at least least, from the window at
// key: granted is what it got (0 when not even least was free), and when
// granted is 0, retryAt says when least units will be free. The row is one
// record.Update, so concurrent instances never overspend.
func take(ctx context.Context, st store.Store, table, key string, now time.Time, span time.Duration, limit, want, least int) (granted int, retryAt time.Time, err error) {
	if least < 1 || least > want {
		least = min(max(least, 1), want)
	}
	_, err = record.Update(ctx, st, table, key, func(w window, _ bool) (window, error) {
		granted, retryAt = 0, time.Time{}
		free := limit - w.used(now, span)
		if free < least {
			retryAt = w.freeAt(now, span, limit, least)
			return w, record.ErrNoChange
		}
		granted = min(free, want)
		w.Spent = append(w.Spent, spend{At: now, N: granted})
		return w, nil
	}, record.WithExpiry(func(window) time.Time { return now.Add(span + time.Minute) }), record.WithReplaceMalformed())
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("notify: budget %s: %w", key, err)
	}
	return granted, retryAt, nil
}
