package plainbuf_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

	"github.com/dingfn/dingfn/shared/store/tablestoretest/internal/plainbuf"
)

func pk() *tablestore.PrimaryKey {
	p := new(tablestore.PrimaryKey)
	p.AddPrimaryKeyColumn("pk", "key-1")
	p.AddPrimaryKeyColumn("n", int64(-7))
	p.AddPrimaryKeyColumn("b", []byte{0, 1, 2})
	return p
}

// The SDK's serialised requests decode, verify and re-encode byte for byte.
func TestRoundTripSDKEncodings(t *testing.T) {
	put := &tablestore.PutRowChange{TableName: "t", PrimaryKey: pk()}
	put.AddColumn("s", "héllo")
	put.AddColumn("i", int64(42))
	put.AddColumn("f", 3.5)
	put.AddColumn("t", true)
	put.AddColumn("bin", []byte("xyz"))
	put.AddColumnWithTimestamp("ts", "v", 1700000000123)

	upd := &tablestore.UpdateRowChange{TableName: "t", PrimaryKey: pk()}
	upd.PutColumn("a", "x")
	upd.DeleteColumn("gone")
	upd.DeleteColumnWithTimestamp("old", 99)
	upd.IncrementColumn("ctr", 5)

	rangePK := new(tablestore.PrimaryKey)
	rangePK.AddPrimaryKeyColumnWithMinValue("pk")
	rangePK.AddPrimaryKeyColumnWithMaxValue("n")
	autoPK := new(tablestore.PrimaryKey)
	autoPK.AddPrimaryKeyColumnWithAutoIncrement("id")

	tests := []struct {
		name string
		b    []byte
	}{
		{"put row", put.Serialize()},
		{"update row", upd.Serialize()},
		{"delete row", (&tablestore.DeleteRowChange{TableName: "t", PrimaryKey: pk()}).Serialize()},
		{"get row key", pk().Build(false)},
		{"range bounds", rangePK.Build(false)},
		{"auto increment", autoPK.Build(false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row, err := plainbuf.DecodeRow(tt.b)
			if err != nil {
				t.Fatalf("DecodeRow: %v", err)
			}
			if got := plainbuf.EncodeRows(row); !bytes.Equal(got, tt.b) {
				t.Errorf("re-encoded\n got %x\nwant %x", got, tt.b)
			}
		})
	}
}

func TestDecodedContent(t *testing.T) {
	upd := &tablestore.UpdateRowChange{TableName: "t", PrimaryKey: pk()}
	upd.PutColumn("a", "x")
	upd.DeleteColumn("gone")
	upd.IncrementColumn("ctr", 5)
	row, err := plainbuf.DecodeRow(upd.Serialize())
	if err != nil {
		t.Fatal(err)
	}
	if len(row.PrimaryKey) != 3 || row.PrimaryKey[1].Value.Int != -7 || string(row.PrimaryKey[2].Value.Bytes) != "\x00\x01\x02" {
		t.Fatalf("primary key = %+v", row.PrimaryKey)
	}
	want := []struct {
		name  string
		op    plainbuf.Op
		value bool
	}{{"a", plainbuf.OpPut, true}, {"gone", plainbuf.OpDeleteAllVersion, false}, {"ctr", plainbuf.OpIncrement, true}}
	if len(row.Cells) != len(want) {
		t.Fatalf("got %d cells, want %d", len(row.Cells), len(want))
	}
	for i, w := range want {
		c := row.Cells[i]
		if c.Name != w.name || c.Op != w.op || (c.Value != nil) != w.value {
			t.Errorf("cell %d = %+v, want %+v", i, c, w)
		}
	}
	if row.DeleteMarker {
		t.Error("update row has a delete marker")
	}
}

func TestFilterValueMatchesSDK(t *testing.T) {
	for _, v := range []any{"s", int64(-1), 2.25, true, []byte{9}} {
		cv := tablestore.ColumnValue{Value: v}
		switch v.(type) {
		case string:
			cv.Type = tablestore.ColumnType_STRING
		case int64:
			cv.Type = tablestore.ColumnType_INTEGER
		case float64:
			cv.Type = tablestore.ColumnType_DOUBLE
		case bool:
			cv.Type = tablestore.ColumnType_BOOLEAN
		case []byte:
			cv.Type = tablestore.ColumnType_BINARY
		}
		b := cv.WriteCellValueWithoutLengthPrefix()
		got, err := plainbuf.DecodeValue(b)
		if err != nil {
			t.Fatalf("%v: %v", v, err)
		}
		if enc := plainbuf.AppendValue(nil, got); !bytes.Equal(enc, b) {
			t.Errorf("%v: re-encoded %x, want %x", v, enc, b)
		}
	}
}

func TestMalformed(t *testing.T) {
	good := pk().Build(false)
	bad := map[string][]byte{
		"empty":          nil,
		"bad header":     append([]byte{0x76, 0, 0, 0}, good[4:]...),
		"truncated":      good[:len(good)-3],
		"row checksum":   append(append([]byte{}, good[:len(good)-1]...), good[len(good)-1]^0xff),
		"trailing bytes": append(append([]byte{}, good...), 0x01),
	}
	// Flip one byte of the first cell's name: the cell checksum must catch it.
	flipped := append([]byte{}, good...)
	flipped[11] ^= 0x20
	bad["cell checksum"] = flipped
	for name, b := range bad {
		if _, err := plainbuf.DecodeRow(b); !errors.Is(err, plainbuf.ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

// Decoding arbitrary bytes returns an error or rows that re-encode to the
// same bytes; it never panics.
func FuzzDecodeRows(f *testing.F) {
	put := &tablestore.PutRowChange{TableName: "t", PrimaryKey: pk()}
	put.AddColumn("s", "v")
	put.AddColumnWithTimestamp("i", int64(1), 5)
	upd := &tablestore.UpdateRowChange{TableName: "t", PrimaryKey: pk()}
	upd.DeleteColumn("d")
	upd.IncrementColumn("n", 1)
	f.Add(put.Serialize())
	f.Add(upd.Serialize())
	f.Add((&tablestore.DeleteRowChange{TableName: "t", PrimaryKey: pk()}).Serialize())
	f.Add(plainbuf.EncodeRows(plainbuf.Row{}, plainbuf.Row{}))
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, err := plainbuf.DecodeRows(b)
		if err != nil {
			if !errors.Is(err, plainbuf.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if got := plainbuf.EncodeRows(rows...); !bytes.Equal(got, b) {
			t.Fatalf("decoded %x but re-encodes as %x", b, got)
		}
	})
}
