package tablestoretest

import (
	"fmt"
	"math"
	"net/http"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore/otsprotocol"
	"github.com/golang/protobuf/proto"

	pb "github.com/dingfn/dingfn/shared/store/tablestoretest/internal/plainbuf"
)

type pkMode int

const (
	pkExact pkMode = iota // a full, concrete key: get, update, delete
	pkPut                 // concrete, or the AUTO_INCREMENT placeholder where the schema allows
	pkRange               // concrete or INF_MIN / INF_MAX
)

func pbTypeOf(t otsprotocol.PrimaryKeyType) pb.Type {
	switch t {
	case otsprotocol.PrimaryKeyType_INTEGER:
		return pb.Integer
	case otsprotocol.PrimaryKeyType_STRING:
		return pb.String
	default:
		return pb.Blob
	}
}

// vtName names a value type as the service's error messages do.
func vtName(t pb.Type) string {
	if t == pb.Blob {
		return "VT_BLOB"
	}
	return "VT_" + t.String()
}

func invalidPK(format string, args ...any) *otsError {
	return &otsError{http.StatusBadRequest, "OTSInvalidPK", fmt.Sprintf(format, args...)}
}

// checkPKFormat checks what the service checks of a primary key before it
// looks at the table's schema, answering OTSParameterInvalid; in a batch
// such an error fails the whole request.
func checkPKFormat(cells []pb.Cell, mode pkMode) *otsError {
	if len(cells) < 1 || len(cells) > maxPKColumns {
		return invalid("The number of primary key columns must be in range: [1, %d].", maxPKColumns)
	}
	for _, c := range cells {
		if c.Value == nil || c.HasOp || c.HasTimestamp {
			return invalid("Invalid primary key column '%s'.", c.Name)
		}
		switch v := c.Value; v.Type {
		case pb.Integer:
		case pb.String, pb.Blob:
			if len(v.Bytes) > maxPKBytes {
				return invalid("The length of primary key column: '%s' exceeds the MaxLength:%d with CurrentLength:%d.", c.Name, maxPKBytes, len(v.Bytes))
			}
		case pb.InfMin, pb.InfMax:
			if mode != pkRange {
				return invalid("%s is an invalid type for the primary key.", vtName(v.Type))
			}
		case pb.AutoIncrement:
			if mode != pkPut {
				return invalid("%s is an invalid type for the primary key.", vtName(v.Type))
			}
		default:
			return invalid("%s is an invalid type for the primary key.", vtName(v.Type))
		}
	}
	return nil
}

// checkPK validates a primary key against the table schema, in order:
// its format (OTSParameterInvalid), then its size, names and types against
// the schema (OTSInvalidPK, which a batch reports per row).
func (t *table) checkPK(cells []pb.Cell, mode pkMode) ([]pb.Value, *otsError) {
	if oerr := checkPKFormat(cells, mode); oerr != nil {
		return nil, oerr
	}
	if len(cells) != len(t.pk) {
		return nil, invalidPK("Validate PK size fail. Input: %d, Meta: %d.", len(cells), len(t.pk))
	}
	out := make([]pb.Value, len(cells))
	for i, c := range cells {
		s := t.pk[i]
		if c.Name != s.GetName() {
			return nil, invalidPK("Validate PK name fail. Input: %s, Meta: %s.", c.Name, s.GetName())
		}
		v := *c.Value
		want := pbTypeOf(s.GetType())
		switch {
		case v.Type == want:
		case mode == pkRange && (v.Type == pb.InfMin || v.Type == pb.InfMax):
		case mode == pkPut && v.Type == pb.AutoIncrement && s.Option != nil && s.GetOption() == otsprotocol.PrimaryKeyOption_AUTO_INCREMENT:
			// GetOption of an unset option is AUTO_INCREMENT, the enum's
			// only value: only a column declared so takes the placeholder.
		default:
			return nil, invalidPK("Validate PK type fail. Input: %s, Meta: %s.", vtName(v.Type), vtName(want))
		}
		out[i] = v
	}
	return out, nil
}

// decodeKeyRow decodes a PlainBuffer block holding a single row.
func decodeKeyRow(b []byte, what string) (pb.Row, *otsError) {
	r, err := pb.DecodeRow(b)
	if err != nil {
		return pb.Row{}, invalid("Invalid %s: %v.", what, err)
	}
	return r, nil
}

func checkAttrValue(name string, v *pb.Value) *otsError {
	if v == nil {
		return invalid("Attribute column '%s' has no value.", name)
	}
	switch v.Type {
	case pb.Integer, pb.Double, pb.Boolean:
	case pb.String, pb.Blob:
		if len(v.Bytes) > maxCellBytes {
			return invalid("The length of attribute column: '%s' exceeds the MaxLength:%d with CurrentLength:%d.", name, maxCellBytes, len(v.Bytes))
		}
	default:
		return invalid("Invalid type %s of attribute column '%s'.", v.Type, name)
	}
	return nil
}

// isPKName reports whether name is a primary-key column of t (nil: of no
// table, when the table is missing).
func (t *table) isPKName(name string) bool {
	if t == nil {
		return false
	}
	for _, s := range t.pk {
		if s.GetName() == name {
			return true
		}
	}
	return false
}

// maxTimestamp bounds cell timestamps, which are milliseconds the service
// stores in microseconds.
const maxTimestamp = math.MaxInt64 / 1000

// checkCellsFormat checks the attribute cells of a row to write as the
// service does before it looks at the table: names and timestamp ranges,
// answering OTSParameterInvalid; in a batch such an error fails the whole
// request.
func checkCellsFormat(cells []pb.Cell) *otsError {
	for _, c := range cells {
		if oerr := checkColumnName(c.Name); oerr != nil {
			return oerr
		}
		if c.HasTimestamp && (c.Timestamp < 0 || c.Timestamp >= maxTimestamp) {
			return invalid("Timestamp must be in range [0, INT64_MAX/1000).")
		}
	}
	return nil
}

func (t *table) checkTimestamp(name string, ts, now int64) *otsError {
	if d := ts - now; d > t.deviationMs() || -d > t.deviationMs() {
		return invalid("The timestamp %d of column '%s' is out of range: deviation from now exceeds %d seconds.", ts, name, t.deviationMs()/1000)
	}
	return nil
}

// checkCondition applies a write's row-existence expectation and column
// condition to the current row (nil when absent).
func checkCondition(cond *otsprotocol.Condition, cur *row, allowNotExist bool) *otsError {
	if cond == nil {
		return invalid("Condition is required.")
	}
	switch cond.GetRowExistence() {
	case otsprotocol.RowExistenceExpectation_IGNORE:
	case otsprotocol.RowExistenceExpectation_EXPECT_EXIST:
		if cur == nil {
			return errConditionCheck
		}
	case otsprotocol.RowExistenceExpectation_EXPECT_NOT_EXIST:
		if !allowNotExist {
			return invalid("Invalid condition: EXPECT_NOT_EXIST while deleting row.")
		}
		if cur != nil {
			return errConditionCheck
		}
	default:
		return invalid("Invalid row existence expectation %d.", cond.GetRowExistence())
	}
	if len(cond.GetColumnCondition()) > 0 {
		f, oerr := parseFilter(cond.GetColumnCondition(), false)
		if oerr != nil {
			return oerr
		}
		if !f.match(cur) {
			return errConditionCheck
		}
	}
	return nil
}

// mutation is one planned change of a row; row nil deletes it.
type mutation struct {
	t   *table
	key string
	row *row
}

// planned is the outcome of a planned write.
type planned struct {
	mut     mutation
	noop    bool   // nothing to change (delete of an absent row, …)
	ret     []byte // PlainBuffer row for ReturnContent, nil for none
	writeCU int32
}

func capacity(bytes int) int32 {
	return int32(max(1, (bytes+4095)/4096))
}

func rowBytes(r *row, t *table) int {
	n := 0
	for i, v := range r.pk {
		n += len(t.pk[i].GetName()) + valueBytes(v)
	}
	for name, vs := range r.cols {
		for _, v := range vs {
			n += len(name) + valueBytes(v.v) + 8
		}
	}
	return n
}

func valueBytes(v pb.Value) int {
	switch v.Type {
	case pb.String, pb.Blob:
		return len(v.Bytes)
	case pb.Boolean:
		return 1
	default:
		return 8
	}
}

// current returns the row stored under key as visible now, or nil.
func (t *table) current(key string, now int64) *row {
	r, ok := t.visible(t.index[key], now)
	if !ok {
		return nil
	}
	return r
}

func (t *table) pkCells(pk []pb.Value) []pb.Cell {
	cells := make([]pb.Cell, len(pk))
	for i := range pk {
		v := pk[i]
		cells[i] = pb.Cell{Name: t.pk[i].GetName(), Value: &v}
	}
	return cells
}

// encode renders r as a response row: the primary key, then every column
// in name order with its versions newest first.
func (t *table) encode(r *row) pb.Row {
	out := pb.Row{PrimaryKey: t.pkCells(r.pk)}
	for _, name := range r.colNames() {
		for _, v := range r.cols[name] {
			val := v.v
			out.Cells = append(out.Cells, pb.Cell{Name: name, Value: &val, Timestamp: v.ts, HasTimestamp: true})
		}
	}
	return out
}

func (t *table) returnRow(r *row, rc *otsprotocol.ReturnContent) ([]byte, *otsError) {
	if rc == nil {
		return nil, nil
	}
	switch rc.GetReturnType() {
	case otsprotocol.ReturnType_RT_NONE:
		return nil, nil
	case otsprotocol.ReturnType_RT_PK:
		return pb.EncodeRows(pb.Row{PrimaryKey: t.pkCells(r.pk)}), nil
	case otsprotocol.ReturnType_RT_AFTER_MODIFY:
		out := &row{pk: r.pk, cols: map[string][]version{}}
		for _, name := range rc.GetReturnColumnNames() {
			if vs := r.cols[name]; len(vs) > 0 {
				out.cols[name] = vs[:1]
			}
		}
		return pb.EncodeRows(t.encode(out)), nil
	}
	return nil, invalid("Invalid return type %d.", rc.GetReturnType())
}

// planPut plans a PutRow: the new row replaces the old one entirely.
func (e *emulator) planPut(t *table, rowData []byte, cond *otsprotocol.Condition, rc *otsprotocol.ReturnContent) (planned, *otsError) {
	in, oerr := decodeKeyRow(rowData, "row")
	if oerr != nil {
		return planned{}, oerr
	}
	if in.DeleteMarker {
		return planned{}, invalid("A put row must not carry a delete marker.")
	}
	pk, oerr := t.checkPK(in.PrimaryKey, pkPut)
	if oerr != nil {
		return planned{}, oerr
	}
	if oerr := checkCellsFormat(in.Cells); oerr != nil {
		return planned{}, oerr
	}
	if len(in.Cells) > maxColumnsPerWrite {
		return planned{}, invalid("The number of attribute columns exceeds the limit, limit count: %d, column count: %d.", maxColumnsPerWrite, len(in.Cells))
	}
	now := e.nowMs()
	r := &row{pk: pk, cols: map[string][]version{}}
	for _, c := range in.Cells {
		if t.isPKName(c.Name) {
			return planned{}, invalid("Attribute column '%s' has the name of a primary key column.", c.Name)
		}
		if c.HasOp {
			return planned{}, invalid("Attribute column '%s' of a put row must not carry an operation type.", c.Name)
		}
		if oerr := checkAttrValue(c.Name, c.Value); oerr != nil {
			return planned{}, oerr
		}
		ts := now
		if c.HasTimestamp {
			if oerr := t.checkTimestamp(c.Name, c.Timestamp, now); oerr != nil {
				return planned{}, oerr
			}
			ts = c.Timestamp
		}
		vs := r.cols[c.Name]
		for _, v := range vs {
			if v.ts == ts {
				return planned{}, invalid("Duplicated attribute column '%s' with timestamp %d.", c.Name, ts)
			}
		}
		r.cols[c.Name] = t.trim(putVersion(vs, version{ts: ts, v: *c.Value}))
	}
	autoInc := false
	for i, v := range pk {
		if v.Type == pb.AutoIncrement {
			autoInc = true
			t.autoInc = max(t.autoInc+1, now*1000)
			pk[i] = pb.IntValue(t.autoInc)
		}
	}
	key := rowKey(pk)
	var cur *row
	if !autoInc {
		cur = t.current(key, now)
	}
	if oerr := checkCondition(cond, cur, true); oerr != nil {
		return planned{}, oerr
	}
	ret, oerr := t.returnRow(r, rc)
	if oerr != nil {
		return planned{}, oerr
	}
	return planned{mut: mutation{t, key, r}, ret: ret, writeCU: capacity(rowBytes(r, t))}, nil
}

// planUpdate plans an UpdateRow: puts, deletes and increments of columns.
func (e *emulator) planUpdate(t *table, change []byte, cond *otsprotocol.Condition, rc *otsprotocol.ReturnContent) (planned, *otsError) {
	in, oerr := decodeKeyRow(change, "row change")
	if oerr != nil {
		return planned{}, oerr
	}
	if in.DeleteMarker {
		return planned{}, invalid("An update row must not carry a delete marker.")
	}
	pk, oerr := t.checkPK(in.PrimaryKey, pkExact)
	if oerr != nil {
		return planned{}, oerr
	}
	if oerr := checkCellsFormat(in.Cells); oerr != nil {
		return planned{}, oerr
	}
	if len(in.Cells) == 0 {
		return planned{}, invalid("No column specified while updating row.")
	}
	if len(in.Cells) > maxColumnsPerWrite {
		return planned{}, invalid("The number of attribute columns exceeds the limit, limit count: %d, column count: %d.", maxColumnsPerWrite, len(in.Cells))
	}
	now := e.nowMs()
	key := rowKey(pk)
	cur := t.current(key, now)
	if oerr := checkCondition(cond, cur, true); oerr != nil {
		return planned{}, oerr
	}
	var r *row
	if cur != nil {
		r = cur.clone()
	} else {
		r = &row{pk: pk, cols: map[string][]version{}}
	}
	creates := false
	seen := map[string]bool{}
	for _, c := range in.Cells {
		if t.isPKName(c.Name) {
			return planned{}, invalid("Attribute column '%s' has the name of a primary key column.", c.Name)
		}
		op := pb.OpPut
		if c.HasOp {
			op = c.Op
		}
		switch op {
		case pb.OpPut:
			if oerr := checkAttrValue(c.Name, c.Value); oerr != nil {
				return planned{}, oerr
			}
			ts := now
			if c.HasTimestamp {
				if oerr := t.checkTimestamp(c.Name, c.Timestamp, now); oerr != nil {
					return planned{}, oerr
				}
				ts = c.Timestamp
			}
			r.cols[c.Name] = t.trim(putVersion(r.cols[c.Name], version{ts: ts, v: *c.Value}))
			creates = true
		case pb.OpDeleteAllVersion:
			if c.Value != nil || c.HasTimestamp {
				return planned{}, invalid("Deleting all versions of column '%s' takes neither value nor timestamp.", c.Name)
			}
			delete(r.cols, c.Name)
		case pb.OpDeleteOneVersion:
			if c.Value != nil || !c.HasTimestamp {
				return planned{}, invalid("Deleting one version of column '%s' takes a timestamp and no value.", c.Name)
			}
			vs := r.cols[c.Name]
			for i, v := range vs {
				if v.ts == c.Timestamp {
					vs = append(vs[:i:i], vs[i+1:]...)
					break
				}
			}
			if len(vs) == 0 {
				delete(r.cols, c.Name)
			} else {
				r.cols[c.Name] = vs
			}
		case pb.OpIncrement:
			if c.Value == nil || c.Value.Type != pb.Integer {
				return planned{}, invalid("The increment of column '%s' must be an INTEGER.", c.Name)
			}
			if c.HasTimestamp {
				return planned{}, invalid("An increment of column '%s' cannot carry a timestamp.", c.Name)
			}
			if seen[c.Name] {
				return planned{}, invalid("Column '%s' is incremented more than once.", c.Name)
			}
			var base int64
			if vs := r.cols[c.Name]; len(vs) > 0 {
				if vs[0].v.Type != pb.Integer {
					return planned{}, invalid("Column '%s' to increment is %s, not INTEGER.", c.Name, vs[0].v.Type)
				}
				base = vs[0].v.Int
			}
			r.cols[c.Name] = t.trim(putVersion(r.cols[c.Name], version{ts: now, v: pb.IntValue(base + c.Value.Int)}))
			creates = true
		default:
			return planned{}, invalid("Invalid operation type %#x of column '%s'.", byte(op), c.Name)
		}
		seen[c.Name] = true
	}
	if rc.GetReturnType() == otsprotocol.ReturnType_RT_AFTER_MODIFY {
		for _, name := range rc.GetReturnColumnNames() {
			if oerr := checkColumnName(name); oerr != nil {
				return planned{}, oerr
			}
		}
	}
	ret, oerr := t.returnRow(r, rc)
	if oerr != nil {
		return planned{}, oerr
	}
	p := planned{mut: mutation{t, key, r}, ret: ret, writeCU: capacity(rowBytes(r, t))}
	if cur == nil && !creates {
		// Only deletes on an absent row: nothing comes into existence.
		p.noop = true
	}
	return p, nil
}

// planDelete plans a DeleteRow.
func (e *emulator) planDelete(t *table, pkData []byte, cond *otsprotocol.Condition, rc *otsprotocol.ReturnContent) (planned, *otsError) {
	in, oerr := decodeKeyRow(pkData, "primary key")
	if oerr != nil {
		return planned{}, oerr
	}
	if len(in.Cells) > 0 {
		return planned{}, invalid("A row to delete must not carry attribute columns.")
	}
	pk, oerr := t.checkPK(in.PrimaryKey, pkExact)
	if oerr != nil {
		return planned{}, oerr
	}
	key := rowKey(pk)
	cur := t.current(key, e.nowMs())
	if oerr := checkCondition(cond, cur, false); oerr != nil {
		return planned{}, oerr
	}
	var ret []byte
	if rc.GetReturnType() == otsprotocol.ReturnType_RT_PK {
		ret = pb.EncodeRows(pb.Row{PrimaryKey: t.pkCells(pk)})
	}
	p := planned{mut: mutation{t, key, nil}, ret: ret, writeCU: 1}
	if _, stored := t.index[key]; !stored {
		p.noop = true
	}
	return p, nil
}

func consumed(read, write int32) *otsprotocol.ConsumedCapacity {
	return &otsprotocol.ConsumedCapacity{CapacityUnit: &otsprotocol.CapacityUnit{Read: proto.Int32(read), Write: proto.Int32(write)}}
}

// apply commits planned writes: to the data file first, then to memory.
func (e *emulator) apply(ps ...planned) *otsError {
	muts := make([]mutation, 0, len(ps))
	for _, p := range ps {
		if !p.noop {
			muts = append(muts, p.mut)
		}
	}
	if len(muts) == 0 {
		return nil
	}
	if err := e.persistRows(muts); err != nil {
		return internalError(fmt.Errorf("persisting rows: %w", err))
	}
	for _, m := range muts {
		m.t.set(m.key, m.row)
	}
	return nil
}

// noTransaction refuses a request that carries a local transaction ID: the
// emulator has none. Any ID counts, even an empty one, as on the wire.
func noTransaction(txID *string) *otsError {
	if txID != nil {
		return unsupported("Local transactions are not supported by the emulator.")
	}
	return nil
}

// writeRow is what PutRow, UpdateRow and DeleteRow share once decoded:
// refuse a transaction, find the table, plan the write and apply it.
func (e *emulator) writeRow(instance, tableName string, txID *string, plan func(*table) (planned, *otsError)) (planned, *otsError) {
	if oerr := noTransaction(txID); oerr != nil {
		return planned{}, oerr
	}
	t, oerr := e.table(instance, tableName)
	if oerr != nil {
		return planned{}, oerr
	}
	p, oerr := plan(t)
	if oerr != nil {
		return planned{}, oerr
	}
	if oerr := e.apply(p); oerr != nil {
		return planned{}, oerr
	}
	return p, nil
}

func (e *emulator) putRow(instance string, body []byte) (proto.Message, *otsError) {
	var req otsprotocol.PutRowRequest
	if oerr := unmarshal(body, &req); oerr != nil {
		return nil, oerr
	}
	p, oerr := e.writeRow(instance, req.GetTableName(), req.TransactionId, func(t *table) (planned, *otsError) {
		return e.planPut(t, req.GetRow(), req.GetCondition(), req.GetReturnContent())
	})
	if oerr != nil {
		return nil, oerr
	}
	return &otsprotocol.PutRowResponse{Consumed: consumed(0, p.writeCU), Row: p.ret}, nil
}

func (e *emulator) updateRow(instance string, body []byte) (proto.Message, *otsError) {
	var req otsprotocol.UpdateRowRequest
	if oerr := unmarshal(body, &req); oerr != nil {
		return nil, oerr
	}
	p, oerr := e.writeRow(instance, req.GetTableName(), req.TransactionId, func(t *table) (planned, *otsError) {
		return e.planUpdate(t, req.GetRowChange(), req.GetCondition(), req.GetReturnContent())
	})
	if oerr != nil {
		return nil, oerr
	}
	return &otsprotocol.UpdateRowResponse{Consumed: consumed(0, p.writeCU), Row: p.ret}, nil
}

func (e *emulator) deleteRow(instance string, body []byte) (proto.Message, *otsError) {
	var req otsprotocol.DeleteRowRequest
	if oerr := unmarshal(body, &req); oerr != nil {
		return nil, oerr
	}
	p, oerr := e.writeRow(instance, req.GetTableName(), req.TransactionId, func(t *table) (planned, *otsError) {
		return e.planDelete(t, req.GetPrimaryKey(), req.GetCondition(), req.GetReturnContent())
	})
	if oerr != nil {
		return nil, oerr
	}
	return &otsprotocol.DeleteRowResponse{Consumed: consumed(0, p.writeCU), Row: p.ret}, nil
}
