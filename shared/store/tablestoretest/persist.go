package tablestoretest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore/otsprotocol"
	"github.com/golang/protobuf/proto"
	bolt "go.etcd.io/bbolt"

	pb "github.com/dingfn/dingfn/shared/store/tablestoretest/internal/plainbuf"
)

// The data file is a bbolt database: bucket "tables" maps
// "<instance>\x00<table>" to a tableRecord; bucket "rows" holds one nested
// bucket per table, mapping the row key to the row as a PlainBuffer row
// carrying every version with its timestamp. bbolt commits each write
// transaction atomically, so a crash never leaves a half-written file.
var (
	bucketMeta   = []byte("meta")
	bucketTables = []byte("tables")
	bucketRows   = []byte("rows")
	keyFormat    = []byte("format")
)

// dataFormat is the layout version recorded in the meta bucket; a file of
// another version is refused rather than misread.
const dataFormat = "tablestoretest/1"

type tableRecord struct {
	Create    []byte `json:"create"` // otsprotocol.CreateTableRequest
	CreatedMs int64  `json:"created_ms"`
	AutoInc   int64  `json:"auto_inc"`
}

func tableID(t *table) []byte { return []byte(t.instance + "\x00" + t.name) }

func (e *emulator) open(path string) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return fmt.Errorf("opening data file %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		switch f := meta.Get(keyFormat); {
		case f == nil:
			if tx.Bucket(bucketTables) != nil {
				return fmt.Errorf("not a tablestoretest data file (no format marker)")
			}
			if err := meta.Put(keyFormat, []byte(dataFormat)); err != nil {
				return err
			}
		case string(f) != dataFormat:
			return fmt.Errorf("data format %q, this emulator reads %q", f, dataFormat)
		}
		tables, err := tx.CreateBucketIfNotExists(bucketTables)
		if err != nil {
			return err
		}
		rows, err := tx.CreateBucketIfNotExists(bucketRows)
		if err != nil {
			return err
		}
		return tables.ForEach(func(k, v []byte) error {
			t, err := loadTable(k, v, rows.Bucket(k))
			if err != nil {
				return err
			}
			e.addTable(t)
			return nil
		})
	})
	if err != nil {
		_ = db.Close()
		return fmt.Errorf("loading data file %s: %w", path, err)
	}
	e.db = db
	return nil
}

func loadTable(id, rec []byte, rows *bolt.Bucket) (*table, error) {
	instance, _, ok := strings.Cut(string(id), "\x00")
	if !ok {
		return nil, fmt.Errorf("malformed table id %q", id)
	}
	var tr tableRecord
	if err := json.Unmarshal(rec, &tr); err != nil {
		return nil, fmt.Errorf("table %q: %w", id, err)
	}
	var req otsprotocol.CreateTableRequest
	if err := proto.Unmarshal(tr.Create, &req); err != nil {
		return nil, fmt.Errorf("table %q: %w", id, err)
	}
	t, oerr := newTable(instance, &req, tr.CreatedMs)
	if oerr != nil {
		return nil, fmt.Errorf("table %q: %v", id, oerr)
	}
	t.autoInc = tr.AutoInc
	if rows == nil {
		return t, nil
	}
	err := rows.ForEach(func(k, v []byte) error {
		r, err := decodeStoredRow(t, v)
		if err != nil {
			return fmt.Errorf("table %q row %x: %w", id, k, err)
		}
		t.index[string(k)] = r
		t.rows = append(t.rows, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(t.rows, func(a, b *row) int { return comparePK(a.pk, b.pk) })
	return t, nil
}

func decodeStoredRow(t *table, data []byte) (*row, error) {
	in, err := pb.DecodeRow(data)
	if err != nil {
		return nil, err
	}
	pk, oerr := t.checkPK(in.PrimaryKey, pkExact)
	if oerr != nil {
		return nil, oerr
	}
	r := &row{pk: pk, cols: map[string][]version{}}
	for _, c := range in.Cells {
		if c.Value == nil || !c.HasTimestamp {
			return nil, fmt.Errorf("cell %q lacks value or timestamp", c.Name)
		}
		r.cols[c.Name] = append(r.cols[c.Name], version{ts: c.Timestamp, v: *c.Value})
	}
	return r, nil
}

func encodeTableRecord(t *table) ([]byte, error) {
	create, err := proto.Marshal(t.create)
	if err != nil {
		return nil, err
	}
	return json.Marshal(tableRecord{Create: create, CreatedMs: t.createdMs, AutoInc: t.autoInc})
}

func (e *emulator) persistTable(t *table) error {
	if e.db == nil {
		return nil
	}
	rec, err := encodeTableRecord(t)
	if err != nil {
		return err
	}
	return e.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketTables).Put(tableID(t), rec); err != nil {
			return err
		}
		_, err := tx.Bucket(bucketRows).CreateBucketIfNotExists(tableID(t))
		return err
	})
}

func (e *emulator) unpersistTable(t *table) error {
	if e.db == nil {
		return nil
	}
	return e.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketTables).Delete(tableID(t)); err != nil {
			return err
		}
		if tx.Bucket(bucketRows).Bucket(tableID(t)) == nil {
			return nil
		}
		return tx.Bucket(bucketRows).DeleteBucket(tableID(t))
	})
}

// persistRows commits muts in one transaction, with the records of the
// tables they touch (whose AUTO_INCREMENT counters may have moved).
func (e *emulator) persistRows(muts []mutation) error {
	if e.db == nil {
		return nil
	}
	return e.db.Update(func(tx *bolt.Tx) error {
		touched := map[*table]bool{}
		for _, m := range muts {
			b, err := tx.Bucket(bucketRows).CreateBucketIfNotExists(tableID(m.t))
			if err != nil {
				return err
			}
			if m.row == nil {
				if err := b.Delete([]byte(m.key)); err != nil {
					return err
				}
			} else if err := b.Put([]byte(m.key), pb.EncodeRows(m.t.encode(m.row))); err != nil {
				return err
			}
			touched[m.t] = true
		}
		for t := range touched {
			rec, err := encodeTableRecord(t)
			if err != nil {
				return err
			}
			if err := tx.Bucket(bucketTables).Put(tableID(t), rec); err != nil {
				return err
			}
		}
		return nil
	})
}
