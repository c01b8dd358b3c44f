// Package plainbuf encodes and decodes Tablestore's PlainBuffer row format,
// the binary encoding the Tablestore protocol carries inside its protobuf
// bytes fields (rows, primary keys, filter values).
//
// The SDK's own codec is unexported and panics on malformed input, so the
// emulator needs its own; it is checked byte for byte against the SDK's
// encoder in the tests.
//
// Layout: a little-endian uint32 header 0x75, then rows. A row is
// TAG_ROW_PK cell*, optionally TAG_ROW_DATA cell*, optionally
// TAG_DELETE_ROW_MARKER, then TAG_ROW_CHECKSUM crc8. A cell is TAG_CELL,
// TAG_CELL_NAME len name, optionally TAG_CELL_VALUE len type payload,
// optionally TAG_CELL_TYPE op, optionally TAG_CELL_TIMESTAMP int64, then
// TAG_CELL_CHECKSUM crc8.
package plainbuf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Header is the magic number every PlainBuffer block starts with.
const Header = 0x75

// Tags of the format.
const (
	tagRowPK           = 0x1
	tagRowData         = 0x2
	tagCell            = 0x3
	tagCellName        = 0x4
	tagCellValue       = 0x5
	tagCellType        = 0x6
	tagCellTimestamp   = 0x7
	tagDeleteRowMarker = 0x8
	tagRowChecksum     = 0x9
	tagCellChecksum    = 0xA
	tagExtension       = 0xB
)

// Op is the operation a cell of an update row carries (TAG_CELL_TYPE).
type Op byte

// Cell operations of UpdateRow.
const (
	OpPut              Op = 0x0 // no TAG_CELL_TYPE on the wire
	OpDeleteAllVersion Op = 0x1
	OpDeleteOneVersion Op = 0x3
	OpIncrement        Op = 0x4
)

// Type is a PlainBuffer variant type.
type Type byte

// Variant types.
const (
	Integer       Type = 0x0
	Double        Type = 0x1
	Boolean       Type = 0x2
	String        Type = 0x3
	Null          Type = 0x6
	Blob          Type = 0x7
	InfMin        Type = 0x9
	InfMax        Type = 0xa
	AutoIncrement Type = 0xb
)

// String names t as the Tablestore documentation does.
func (t Type) String() string {
	switch t {
	case Integer:
		return "INTEGER"
	case Double:
		return "DOUBLE"
	case Boolean:
		return "BOOLEAN"
	case String:
		return "STRING"
	case Null:
		return "NULL"
	case Blob:
		return "BINARY"
	case InfMin:
		return "INF_MIN"
	case InfMax:
		return "INF_MAX"
	case AutoIncrement:
		return "AUTO_INCREMENT"
	}
	return fmt.Sprintf("Type(%#x)", byte(t))
}

// Value is one typed value. String and Blob keep their bytes in Bytes.
type Value struct {
	Type  Type
	Int   int64
	Float float64
	Bool  bool
	Bytes []byte
}

// IntValue builds an Integer value.
func IntValue(v int64) Value { return Value{Type: Integer, Int: v} }

// DoubleValue builds a Double value.
func DoubleValue(v float64) Value { return Value{Type: Double, Float: v} }

// BoolValue builds a Boolean value.
func BoolValue(v bool) Value { return Value{Type: Boolean, Bool: v} }

// StringValue builds a String value.
func StringValue(v string) Value { return Value{Type: String, Bytes: []byte(v)} }

// BlobValue builds a Blob value.
func BlobValue(v []byte) Value { return Value{Type: Blob, Bytes: v} }

// Cell is a primary-key or attribute cell.
type Cell struct {
	Name         string
	Value        *Value // nil when the cell carries no value (delete ops)
	Op           Op
	HasOp        bool
	Timestamp    int64
	HasTimestamp bool
}

// Row is one PlainBuffer row.
type Row struct {
	PrimaryKey   []Cell
	Cells        []Cell
	DeleteMarker bool
}

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("plainbuf: malformed")

// crc8 with polynomial 0x07, the checksum the format uses.
var crcTable = func() (t [256]byte) {
	for i := range t {
		x := byte(i)
		for range 8 {
			if x&0x80 != 0 {
				x = x<<1 ^ 0x07
			} else {
				x <<= 1
			}
		}
		t[i] = x
	}
	return t
}()

func crcByte(crc, b byte) byte { return crcTable[crc^b] }

func crcBytes(crc byte, b []byte) byte {
	for _, x := range b {
		crc = crcByte(crc, x)
	}
	return crc
}

func crcUint64(crc byte, v uint64) byte {
	for range 8 {
		crc = crcByte(crc, byte(v))
		v >>= 8
	}
	return crc
}

// checksum folds v into crc the way the format defines it: over the bytes
// AppendValue writes, without building them.
func (v *Value) checksum(crc byte) byte {
	var head [13]byte
	return crcBytes(crcBytes(crc, appendValueHead(head[:0], *v)), v.payload())
}

func (c *Cell) checksum() byte {
	crc := crcBytes(0, []byte(c.Name))
	if c.Value != nil {
		crc = c.Value.checksum(crc)
	}
	if c.HasTimestamp {
		crc = crcUint64(crc, uint64(c.Timestamp))
	}
	if c.HasOp {
		crc = crcByte(crc, byte(c.Op))
	}
	return crc
}

func (r *Row) checksum() byte {
	var crc byte
	for i := range r.PrimaryKey {
		crc = crcByte(crc, r.PrimaryKey[i].checksum())
	}
	for i := range r.Cells {
		crc = crcByte(crc, r.Cells[i].checksum())
	}
	if r.DeleteMarker {
		return crcByte(crc, 1)
	}
	return crcByte(crc, 0)
}

// EncodeRows writes a header followed by rows.
func EncodeRows(rows ...Row) []byte {
	b := binary.LittleEndian.AppendUint32(nil, Header)
	for i := range rows {
		b = appendRow(b, &rows[i])
	}
	return b
}

func appendRow(b []byte, r *Row) []byte {
	b = append(b, tagRowPK)
	for i := range r.PrimaryKey {
		b = appendCell(b, &r.PrimaryKey[i])
	}
	if len(r.Cells) > 0 {
		b = append(b, tagRowData)
		for i := range r.Cells {
			b = appendCell(b, &r.Cells[i])
		}
	}
	if r.DeleteMarker {
		b = append(b, tagDeleteRowMarker)
	}
	return append(b, tagRowChecksum, r.checksum())
}

func appendCell(b []byte, c *Cell) []byte {
	b = append(b, tagCell, tagCellName)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(c.Name)))
	b = append(b, c.Name...)
	if c.Value != nil {
		// The value goes straight into b behind a length patched after.
		b = append(b, tagCellValue, 0, 0, 0, 0)
		at := len(b)
		b = AppendValue(b, *c.Value)
		binary.LittleEndian.PutUint32(b[at-4:at], uint32(len(b)-at))
	}
	if c.HasOp {
		b = append(b, tagCellType, byte(c.Op))
	}
	if c.HasTimestamp {
		b = append(b, tagCellTimestamp)
		b = binary.LittleEndian.AppendUint64(b, uint64(c.Timestamp))
	}
	return append(b, tagCellChecksum, c.checksum())
}

// AppendValue appends v as type byte plus payload, without the length
// prefix: the form filters carry in SingleColumnValueFilter.column_value.
func AppendValue(b []byte, v Value) []byte {
	return append(appendValueHead(b, v), v.payload()...)
}

// payload is what follows the head of a string or binary value; the other
// types have none.
func (v *Value) payload() []byte {
	if v.Type == String || v.Type == Blob {
		return v.Bytes
	}
	return nil
}

// appendValueHead appends all of v's encoding but a string or binary
// payload: the type byte, then the fixed-size value or the payload length.
func appendValueHead(b []byte, v Value) []byte {
	b = append(b, byte(v.Type))
	switch v.Type {
	case Integer:
		b = binary.LittleEndian.AppendUint64(b, uint64(v.Int))
	case Double:
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Float))
	case Boolean:
		if v.Bool {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	case String, Blob:
		b = binary.LittleEndian.AppendUint32(b, uint32(len(v.Bytes)))
	}
	return b
}

// DecodeValue parses a value without length prefix (see AppendValue).
func DecodeValue(b []byte) (Value, error) {
	d := decoder{b: b}
	v := d.value(len(b))
	if d.err != nil {
		return Value{}, d.err
	}
	if d.off != len(b) {
		return Value{}, fmt.Errorf("%w: %d trailing bytes after value", ErrMalformed, len(b)-d.off)
	}
	return v, nil
}

// DecodeRows parses a header followed by zero or more rows and verifies
// every cell and row checksum.
func DecodeRows(b []byte) ([]Row, error) {
	d := decoder{b: b}
	if h := d.uint32(); d.err == nil && h != Header {
		return nil, fmt.Errorf("%w: header %#x, want %#x", ErrMalformed, h, Header)
	}
	var rows []Row
	for d.err == nil && d.off < len(d.b) {
		rows = append(rows, d.row())
	}
	if d.err != nil {
		return nil, d.err
	}
	return rows, nil
}

// DecodeRow parses a block that must hold exactly one row.
func DecodeRow(b []byte) (Row, error) {
	rows, err := DecodeRows(b)
	if err != nil {
		return Row{}, err
	}
	if len(rows) != 1 {
		return Row{}, fmt.Errorf("%w: %d rows, want 1", ErrMalformed, len(rows))
	}
	return rows[0], nil
}

type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format+" at offset %d", append([]any{ErrMalformed}, append(args, d.off)...)...)
	}
}

func (d *decoder) need(n int) bool {
	if d.err != nil {
		return false
	}
	if n < 0 || len(d.b)-d.off < n {
		d.fail("unexpected end (need %d bytes)", n)
		return false
	}
	return true
}

func (d *decoder) byte() byte {
	if !d.need(1) {
		return 0
	}
	d.off++
	return d.b[d.off-1]
}

func (d *decoder) peek() (byte, bool) {
	if d.err != nil || d.off >= len(d.b) {
		return 0, false
	}
	return d.b[d.off], true
}

func (d *decoder) uint32() uint32 {
	if !d.need(4) {
		return 0
	}
	v := binary.LittleEndian.Uint32(d.b[d.off:])
	d.off += 4
	return v
}

func (d *decoder) uint64() uint64 {
	if !d.need(8) {
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b[d.off:])
	d.off += 8
	return v
}

func (d *decoder) bytes(n int) []byte {
	if !d.need(n) {
		return nil
	}
	v := make([]byte, n)
	copy(v, d.b[d.off:])
	d.off += n
	return v
}

func (d *decoder) expect(tag byte, what string) {
	if t := d.byte(); d.err == nil && t != tag {
		d.off--
		d.fail("tag %#x, want %s", t, what)
	}
}

func (d *decoder) row() Row {
	var r Row
	d.expect(tagRowPK, "TAG_ROW_PK")
	r.PrimaryKey = d.cells()
	if t, ok := d.peek(); ok && t == tagRowData {
		d.off++
		r.Cells = d.cells()
	}
	if t, ok := d.peek(); ok && t == tagDeleteRowMarker {
		d.off++
		r.DeleteMarker = true
	}
	if t, ok := d.peek(); ok && t == tagExtension {
		d.fail("row extensions are not supported in requests")
		return r
	}
	d.expect(tagRowChecksum, "TAG_ROW_CHECKSUM")
	sum := d.byte()
	if d.err == nil && sum != r.checksum() {
		d.off--
		d.fail("row checksum %#x, want %#x", sum, r.checksum())
	}
	return r
}

func (d *decoder) cells() []Cell {
	var cells []Cell
	for {
		t, ok := d.peek()
		if !ok || t != tagCell {
			return cells
		}
		d.off++
		cells = append(cells, d.cell())
		if d.err != nil {
			return cells
		}
	}
}

func (d *decoder) cell() Cell {
	var c Cell
	d.expect(tagCellName, "TAG_CELL_NAME")
	n := d.uint32()
	c.Name = string(d.bytes(int(n)))
	if t, ok := d.peek(); ok && t == tagCellValue {
		d.off++
		size := int(d.uint32())
		start := d.off
		v := d.value(size)
		if d.err == nil && d.off-start != size {
			d.fail("cell value length %d, payload %d", size, d.off-start)
		}
		c.Value = &v
	}
	if t, ok := d.peek(); ok && t == tagCellType {
		d.off++
		c.Op = Op(d.byte())
		c.HasOp = true
	}
	if t, ok := d.peek(); ok && t == tagCellTimestamp {
		d.off++
		c.Timestamp = int64(d.uint64())
		c.HasTimestamp = true
	}
	d.expect(tagCellChecksum, "TAG_CELL_CHECKSUM")
	sum := d.byte()
	if d.err == nil && sum != c.checksum() {
		d.off--
		d.fail("checksum of cell %q is %#x, want %#x", c.Name, sum, c.checksum())
	}
	return c
}

// value reads type and payload; size bounds the payload for sanity.
func (d *decoder) value(size int) Value {
	if size < 1 {
		d.fail("empty value")
		return Value{}
	}
	v := Value{Type: Type(d.byte())}
	switch v.Type {
	case Integer:
		v.Int = int64(d.uint64())
	case Double:
		v.Float = math.Float64frombits(d.uint64())
	case Boolean:
		switch b := d.byte(); b {
		case 0, 1:
			v.Bool = b == 1
		default:
			d.off--
			d.fail("boolean byte %#x", b)
		}
	case String, Blob:
		n := d.uint32()
		if int64(n) > int64(size) {
			d.fail("value length %d exceeds cell length %d", n, size)
			return v
		}
		v.Bytes = d.bytes(int(n))
	case InfMin, InfMax, AutoIncrement, Null:
	default:
		d.off--
		d.fail("unknown value type %#x", byte(v.Type))
	}
	return v
}
