package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/store/record"
)

// chinaTime is DingTalk's day boundary for its per-day rules (UTC+8).
var chinaTime = time.FixedZone("CST", 8*3600)

// dailyShards spreads a day's record over this many rows, so that no row
// grows past a few hundred kilobytes in a large organisation and a small
// notice touches few rows.
const dailyShards = 64

// dailyRow is one shard of a day's record (DailyTable, key: day/NN): per
// userid, how many notices notify asked DingTalk to deliver today and
// which contents, each written "<8 hex of the content hash>/<notice>".
type dailyRow struct {
	Users map[string]*dailyUser `json:"users"`
}

type dailyUser struct {
	N int      `json:"n"`
	H []string `json:"h"`
}

func hashBytes(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func shardOf(userid string) int {
	h := fnv.New32a()
	h.Write([]byte(userid))
	return int(h.Sum32() % dailyShards)
}

// recordDaily notes that notice (content msgHash) goes to userids today
// and reports who already got the same content today (DingTalk will drop
// it for them) and who reached the daily cap. Neither is counted again.
// Recording the same notice twice (a taken-over request) is harmless.
func (s *Service) recordDaily(ctx context.Context, notice, msgHash string, userids []string) (dup, capped []string, err error) {
	now := s.now().In(chinaTime)
	day := now.Format("2006-01-02")
	y, m, d := now.Date()
	expires := time.Date(y, m, d+1, 1, 0, 0, 0, chinaTime)
	byShard := map[int][]string{}
	for _, u := range userids {
		sh := shardOf(u)
		byShard[sh] = append(byShard[sh], u)
	}
	content := msgHash[:8] + "/"
	tag := content + notice[max(0, len(notice)-8):]
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for sh, users := range byShard {
		g.Go(func() error {
			var sDup, sCapped []string
			_, err := record.Update(gctx, s.st, DailyTable, fmt.Sprintf("%s/%02d", day, sh), func(r dailyRow, _ bool) (dailyRow, error) {
				sDup, sCapped = sDup[:0], sCapped[:0]
				if r.Users == nil {
					r.Users = map[string]*dailyUser{}
				}
				for _, u := range users {
					du := r.Users[u]
					if du == nil {
						du = &dailyUser{}
						r.Users[u] = du
					}
					mine, same := false, false
					for _, h := range du.H {
						mine = mine || h == tag
						same = same || (strings.HasPrefix(h, content) && h != tag)
					}
					switch {
					case mine:
					case same:
						sDup = append(sDup, u)
					case du.N >= dingtalk.MaxNoticesPerUserPerDay:
						sCapped = append(sCapped, u)
					default:
						du.N++
						du.H = append(du.H, tag)
					}
				}
				return r, nil
			}, record.WithExpiry(func(dailyRow) time.Time { return expires }), record.WithReplaceMalformed())
			if err != nil {
				return fmt.Errorf("notify: daily record: %w", err)
			}
			mu.Lock()
			dup, capped = append(dup, sDup...), append(capped, sCapped...)
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	return dup, capped, nil
}
