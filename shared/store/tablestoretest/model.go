package tablestoretest

import (
	"bytes"
	"cmp"
	"slices"
	"sort"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore/otsprotocol"

	pb "github.com/dingfn/dingfn/shared/store/tablestoretest/internal/plainbuf"
)

// table is one Tablestore table of one instance.
type table struct {
	instance string
	name     string
	// create is the request the table was created with; it is what the
	// data file stores and what DescribeTable echoes.
	create *otsprotocol.CreateTableRequest
	pk     []*otsprotocol.PrimaryKeySchema

	ttlSeconds  int32 // -1: forever
	maxVersions int32
	createdMs   int64

	rows  []*row          // sorted by primary key
	index map[string]*row // rowKey(pk) → row
	// autoInc is the last value handed out for an AUTO_INCREMENT column.
	autoInc int64
}

// row is a stored row: its primary key and, per attribute column, the
// versions newest first.
type row struct {
	pk   []pb.Value
	cols map[string][]version
}

type version struct {
	ts int64
	v  pb.Value
}

// rowKey is the map key of a primary key; types are fixed per column, so
// the length-prefixed encoding is unambiguous.
func rowKey(pk []pb.Value) string {
	var buf [128]byte // most keys fit: built on the stack, copied once
	b := buf[:0]
	for _, v := range pk {
		b = pb.AppendValue(b, v)
	}
	return string(b)
}

func (r *row) clone() *row {
	c := &row{pk: r.pk, cols: make(map[string][]version, len(r.cols))}
	for name, vs := range r.cols {
		c.cols[name] = slices.Clone(vs)
	}
	return c
}

// colNames returns the attribute column names in ascending byte order, the
// order Tablestore returns them in.
func (r *row) colNames() []string {
	names := make([]string, 0, len(r.cols))
	for n := range r.cols {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// visible returns the row as seen at nowMs: versions past the table's TTL
// are gone. ok is false when nothing of the row remains visible.
func (t *table) visible(r *row, nowMs int64) (*row, bool) {
	if r == nil {
		return nil, false
	}
	if t.ttlSeconds < 0 {
		return r, true
	}
	cutoff := nowMs - int64(t.ttlSeconds)*1000
	out := &row{pk: r.pk, cols: make(map[string][]version, len(r.cols))}
	for name, vs := range r.cols {
		var keep []version
		for _, v := range vs {
			if v.ts > cutoff {
				keep = append(keep, v)
			}
		}
		if len(keep) > 0 {
			out.cols[name] = keep
		}
	}
	if len(r.cols) > 0 && len(out.cols) == 0 {
		return nil, false
	}
	return out, true
}

// comparePK orders a stored primary key against a bound that may contain
// INF_MIN / INF_MAX; a bound column that is infinite decides the order.
func comparePK(a, bound []pb.Value) int {
	for i := range a {
		if i >= len(bound) {
			return 1
		}
		switch bound[i].Type {
		case pb.InfMin:
			return 1
		case pb.InfMax:
			return -1
		}
		if c := compareValue(a[i], bound[i]); c != 0 {
			return c
		}
	}
	return 0
}

// compareBounds orders two range bounds, both possibly infinite.
func compareBounds(a, b []pb.Value) int {
	for i := range min(len(a), len(b)) {
		ra, rb := infRank(a[i]), infRank(b[i])
		if ra != rb || ra != 0 {
			if c := cmp.Compare(ra, rb); c != 0 {
				return c
			}
			return 0 // both the same infinity: the rest does not matter
		}
		if c := compareValue(a[i], b[i]); c != 0 {
			return c
		}
	}
	return 0
}

func infRank(v pb.Value) int {
	switch v.Type {
	case pb.InfMin:
		return -1
	case pb.InfMax:
		return 1
	}
	return 0
}

// compareValue orders two values of the same type.
func compareValue(a, b pb.Value) int {
	switch a.Type {
	case pb.Integer:
		return cmp.Compare(a.Int, b.Int)
	case pb.Double:
		return cmp.Compare(a.Float, b.Float)
	case pb.Boolean:
		switch {
		case a.Bool == b.Bool:
			return 0
		case b.Bool:
			return -1
		default:
			return 1
		}
	default:
		return bytes.Compare(a.Bytes, b.Bytes)
	}
}

// search returns the index of the first row whose key is >= bound.
func (t *table) search(bound []pb.Value) int {
	return sort.Search(len(t.rows), func(i int) bool { return comparePK(t.rows[i].pk, bound) >= 0 })
}

// set installs r (nil deletes key) in memory.
func (t *table) set(key string, r *row) {
	old, ok := t.index[key]
	if r == nil {
		if !ok {
			return
		}
		delete(t.index, key)
		i := t.search(old.pk)
		t.rows = slices.Delete(t.rows, i, i+1)
		return
	}
	t.index[key] = r
	i := t.search(r.pk)
	if ok {
		t.rows[i] = r
		return
	}
	t.rows = slices.Insert(t.rows, i, r)
}

// trim keeps the newest maxVersions versions.
func (t *table) trim(vs []version) []version {
	if int32(len(vs)) > t.maxVersions {
		return vs[:t.maxVersions]
	}
	return vs
}

// putVersion inserts v keeping vs sorted newest first; a version with the
// same timestamp is replaced.
func putVersion(vs []version, v version) []version {
	i := sort.Search(len(vs), func(i int) bool { return vs[i].ts <= v.ts })
	if i < len(vs) && vs[i].ts == v.ts {
		vs[i] = v
		return vs
	}
	return slices.Insert(vs, i, v)
}
