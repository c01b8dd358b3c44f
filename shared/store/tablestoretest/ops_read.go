package tablestoretest

import (
	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore/otsprotocol"
	"github.com/golang/protobuf/proto"

	pb "github.com/dingfn/dingfn/shared/store/tablestoretest/internal/plainbuf"
)

// readSpec is what a read asks of each row.
type readSpec struct {
	columns     map[string]bool // nil: all columns
	wantsPK     bool            // columns names a primary-key column
	maxVersions int32           // 0: every version in the time range
	start, end  int64           // time range [start, end)
	filter      *filter
	startColumn string // inclusive, "" unbounded
	endColumn   string // exclusive, "" unbounded
}

func (t *table) parseReadSpec(columns []string, tr *otsprotocol.TimeRange, maxVersions *int32, filterData []byte, startCol, endCol *string) (readSpec, *otsError) {
	spec := readSpec{start: 0, end: 1<<63 - 1}
	if maxVersions == nil && tr == nil {
		return spec, invalid("No version condition is specified.")
	}
	if maxVersions != nil {
		if *maxVersions <= 0 {
			return spec, invalid("MaxVersions must be positive, got %d.", *maxVersions)
		}
		spec.maxVersions = *maxVersions
	}
	if tr != nil {
		switch {
		case tr.SpecificTime != nil:
			if tr.StartTime != nil || tr.EndTime != nil {
				return spec, invalid("TimeRange takes either a specific time or a start and end time.")
			}
			spec.start, spec.end = tr.GetSpecificTime(), tr.GetSpecificTime()+1
		default:
			if tr.StartTime == nil || tr.EndTime == nil || tr.GetStartTime() < 0 || tr.GetStartTime() >= tr.GetEndTime() {
				return spec, invalid("Invalid TimeRange [%d, %d).", tr.GetStartTime(), tr.GetEndTime())
			}
			spec.start, spec.end = tr.GetStartTime(), tr.GetEndTime()
		}
	}
	if len(columns) > maxColumnsPerWrite {
		return spec, invalid("The number of columns from the request exceeds the limit, limit count: %d, column count: %d.", maxColumnsPerWrite, len(columns))
	}
	if len(columns) > 0 {
		spec.columns = map[string]bool{}
		for _, c := range columns {
			if oerr := checkColumnName(c); oerr != nil {
				return spec, oerr
			}
			if t.isPKName(c) {
				spec.wantsPK = true
			}
			spec.columns[c] = true
		}
	}
	if len(filterData) > 0 {
		f, oerr := parseFilter(filterData, true)
		if oerr != nil {
			return spec, oerr
		}
		spec.filter = f
	}
	if startCol != nil {
		spec.startColumn = *startCol
	}
	if endCol != nil {
		spec.endColumn = *endCol
	}
	return spec, nil
}

// read applies spec to the stored row r (already TTL-filtered), returning
// the row to send or nil.
func (spec *readSpec) read(r *row) *row {
	if r == nil {
		return nil
	}
	out := &row{pk: r.pk, cols: map[string][]version{}}
	for name, vs := range r.cols {
		if spec.columns != nil && !spec.columns[name] {
			continue
		}
		if spec.startColumn != "" && name < spec.startColumn || spec.endColumn != "" && name >= spec.endColumn {
			continue
		}
		var keep []version
		for _, v := range vs {
			if v.ts >= spec.start && v.ts < spec.end {
				keep = append(keep, v)
				if spec.maxVersions > 0 && int32(len(keep)) == spec.maxVersions {
					break
				}
			}
		}
		if len(keep) > 0 {
			out.cols[name] = keep
		}
	}
	// A filter sees only the columns read.
	if spec.filter != nil {
		if !spec.filter.match(out) {
			return nil
		}
		if spec.filter.paginate {
			names := out.colNames()
			for i, name := range names {
				if int32(i) < spec.filter.offset || int32(i) >= spec.filter.offset+spec.filter.limit {
					delete(out.cols, name)
				}
			}
		}
	}
	if spec.columns != nil && len(out.cols) == 0 && !spec.wantsPK {
		return nil
	}
	return out
}

func (e *emulator) getRow(instance string, body []byte) (proto.Message, *otsError) {
	var req otsprotocol.GetRowRequest
	if oerr := unmarshal(body, &req); oerr != nil {
		return nil, oerr
	}
	if oerr := noTransaction(req.TransactionId); oerr != nil {
		return nil, oerr
	}
	t, oerr := e.table(instance, req.GetTableName())
	if oerr != nil {
		return nil, oerr
	}
	spec, oerr := t.parseReadSpec(req.GetColumnsToGet(), req.GetTimeRange(), req.MaxVersions, req.GetFilter(), req.StartColumn, req.EndColumn)
	if oerr != nil {
		return nil, oerr
	}
	data, cu, oerr := e.readOne(t, &spec, req.GetPrimaryKey())
	if oerr != nil {
		return nil, oerr
	}
	return &otsprotocol.GetRowResponse{Consumed: consumed(cu, 0), Row: data}, nil
}

// readOne reads the row of an encoded primary key; data is empty (not nil,
// the field is required) when there is no row to return.
func (e *emulator) readOne(t *table, spec *readSpec, pkData []byte) ([]byte, int32, *otsError) {
	in, oerr := decodeKeyRow(pkData, "primary key")
	if oerr != nil {
		return nil, 0, oerr
	}
	if len(in.Cells) > 0 || in.DeleteMarker {
		return nil, 0, invalid("A primary key to read must carry only primary key columns.")
	}
	return e.readKey(t, spec, in)
}

// readKey reads the row of a decoded primary key.
func (e *emulator) readKey(t *table, spec *readSpec, in pb.Row) ([]byte, int32, *otsError) {
	pk, oerr := t.checkPK(in.PrimaryKey, pkExact)
	if oerr != nil {
		return nil, 0, oerr
	}
	r := spec.read(t.current(rowKey(pk), e.nowMs()))
	if r == nil {
		return []byte{}, 1, nil
	}
	return pb.EncodeRows(t.encode(r)), capacity(rowBytes(r, t)), nil
}

func (e *emulator) getRange(instance string, body []byte) (proto.Message, *otsError) {
	var req otsprotocol.GetRangeRequest
	if oerr := unmarshal(body, &req); oerr != nil {
		return nil, oerr
	}
	if oerr := noTransaction(req.TransactionId); oerr != nil {
		return nil, oerr
	}
	if len(req.GetToken()) > 0 {
		return nil, errWideRowToken
	}
	t, oerr := e.table(instance, req.GetTableName())
	if oerr != nil {
		return nil, oerr
	}
	spec, oerr := t.parseReadSpec(req.GetColumnsToGet(), req.GetTimeRange(), req.MaxVersions, req.GetFilter(), req.StartColumn, req.EndColumn)
	if oerr != nil {
		return nil, oerr
	}
	limit := int32(maxRangeRows)
	if req.Limit != nil {
		if req.GetLimit() <= 0 {
			return nil, invalid("The limit must be greater than 0.")
		}
		limit = min(limit, req.GetLimit())
	}
	startRow, oerr := decodeKeyRow(req.GetInclusiveStartPrimaryKey(), "inclusive start primary key")
	if oerr != nil {
		return nil, oerr
	}
	endRow, oerr := decodeKeyRow(req.GetExclusiveEndPrimaryKey(), "exclusive end primary key")
	if oerr != nil {
		return nil, oerr
	}
	start, oerr := t.checkPK(startRow.PrimaryKey, pkRange)
	if oerr != nil {
		return nil, oerr
	}
	end, oerr := t.checkPK(endRow.PrimaryKey, pkRange)
	if oerr != nil {
		return nil, oerr
	}
	backward := req.GetDirection() == otsprotocol.Direction_BACKWARD
	switch c := compareBounds(start, end); {
	case !backward && c >= 0:
		return nil, invalid("Begin key must less than end key in FORWARD")
	case backward && c <= 0:
		return nil, invalid("Begin key must more than end key in BACKWARD")
	}

	// Rows in scan order: forward from the first row >= start up to end;
	// backward from the last row <= start down to (excluding) end.
	var rows []*row
	if !backward {
		for i := t.search(start); i < len(t.rows) && comparePK(t.rows[i].pk, end) < 0; i++ {
			rows = append(rows, t.rows[i])
			if len(rows) > maxRangeRows {
				break
			}
		}
	} else {
		i := t.search(start)
		if i < len(t.rows) && comparePK(t.rows[i].pk, start) == 0 {
			i++ // start is inclusive
		}
		for i--; i >= 0 && comparePK(t.rows[i].pk, end) > 0; i-- {
			rows = append(rows, t.rows[i])
			if len(rows) > maxRangeRows {
				break
			}
		}
	}

	now := e.nowMs()
	var out []pb.Row
	var next []pb.Value
	size, scanned := 0, 0
	for i, r := range rows {
		if int32(len(out)) == limit || scanned == maxRangeRows || size >= maxRangeBytes {
			next = rows[i].pk
			break
		}
		scanned++
		vis, ok := t.visible(r, now)
		if !ok {
			continue
		}
		got := spec.read(vis)
		if got == nil {
			continue
		}
		out = append(out, t.encode(got))
		size += rowBytes(got, t)
	}
	resp := &otsprotocol.GetRangeResponse{
		Consumed:      consumed(capacity(size), 0),
		Rows:          []byte{},
		DataBlockType: otsprotocol.DataBlockType_DBT_PLAIN_BUFFER.Enum(),
		CompressType:  otsprotocol.CompressType_CPT_NONE.Enum(),
	}
	if len(out) > 0 {
		resp.Rows = pb.EncodeRows(out...)
	}
	if next != nil {
		resp.NextStartPrimaryKey = pb.EncodeRows(pb.Row{PrimaryKey: t.pkCells(next)})
	}
	return resp, nil
}

// batchGetRow reads each row on its own. As on the service, what can be
// checked without the tables (names, read options, primary-key formats)
// fails the whole request; a missing table or a key that does not fit the
// table's schema fails only its rows. A key may be asked for twice.
func (e *emulator) batchGetRow(instance string, body []byte) (proto.Message, *otsError) {
	var req otsprotocol.BatchGetRowRequest
	if oerr := unmarshal(body, &req); oerr != nil {
		return nil, oerr
	}
	if len(req.GetTables()) == 0 {
		return nil, invalid("No row specified in the request of BatchGetRow.")
	}
	if oerr := checkBatchTables(req.GetTables(), maxBatchGetRows, func(tr *otsprotocol.TableInBatchGetRowRequest) (int, *otsError) {
		if len(tr.GetToken()) > 0 {
			return 0, errWideRowToken
		}
		return len(tr.GetPrimaryKey()), nil
	}); oerr != nil {
		return nil, oerr
	}
	type group struct {
		t    *table
		terr *otsError
		spec readSpec
		keys []pb.Row
	}
	groups := make([]group, len(req.GetTables()))
	for i, tr := range req.GetTables() {
		g := &groups[i]
		if oerr := checkTableName(tr.GetTableName()); oerr != nil {
			return nil, oerr
		}
		if tr.MaxVersions == nil && tr.TimeRange == nil {
			return nil, invalid("No version condition is specified while querying row.")
		}
		g.t, g.terr = e.table(instance, tr.GetTableName())
		var oerr *otsError
		if g.spec, oerr = g.t.parseReadSpec(tr.GetColumnsToGet(), tr.GetTimeRange(), tr.MaxVersions, tr.GetFilter(), tr.StartColumn, tr.EndColumn); oerr != nil {
			return nil, oerr
		}
		for _, pkData := range tr.GetPrimaryKey() {
			k, oerr := decodeKeyRow(pkData, "primary key")
			if oerr != nil {
				return nil, oerr
			}
			if len(k.Cells) > 0 || k.DeleteMarker {
				return nil, invalid("A primary key to read must carry only primary key columns.")
			}
			if oerr := checkPKFormat(k.PrimaryKey, pkExact); oerr != nil {
				return nil, oerr
			}
			g.keys = append(g.keys, k)
		}
	}
	resp := &otsprotocol.BatchGetRowResponse{}
	for i, tr := range req.GetTables() {
		g := &groups[i]
		out := &otsprotocol.TableInBatchGetRowResponse{TableName: proto.String(tr.GetTableName())}
		resp.Tables = append(resp.Tables, out)
		for _, k := range g.keys {
			oerr := g.terr
			var data []byte
			var cu int32
			if oerr == nil {
				if f, ok := e.faults.next(rowFaultKey("BatchGetRow")); ok {
					oerr = &otsError{code: f.Code, message: f.Message}
				} else {
					data, cu, oerr = e.readKey(g.t, &g.spec, k)
				}
			}
			out.Rows = append(out.Rows, rowGetResult(data, cu, oerr))
		}
	}
	return resp, nil
}

func rowGetResult(data []byte, cu int32, oerr *otsError) *otsprotocol.RowInBatchGetRowResponse {
	if oerr != nil {
		return &otsprotocol.RowInBatchGetRowResponse{
			IsOk:  proto.Bool(false),
			Error: &otsprotocol.Error{Code: proto.String(oerr.code), Message: proto.String(oerr.message)},
		}
	}
	return &otsprotocol.RowInBatchGetRowResponse{IsOk: proto.Bool(true), Consumed: consumed(cu, 0), Row: data}
}
