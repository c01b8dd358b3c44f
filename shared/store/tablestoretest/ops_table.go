package tablestoretest

import (
	"slices"
	"time"
	"unicode/utf8"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore/otsprotocol"
	"github.com/golang/protobuf/proto"
)

const defaultDeviationSeconds = 86400

func nowHeader() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }

func (e *emulator) nowMs() int64 { return e.cfg.clock().UnixMilli() }

func (e *emulator) table(instance, name string) (*table, *otsError) {
	if oerr := checkTableName(name); oerr != nil {
		return nil, oerr
	}
	t := e.instances[instance][name]
	if t == nil {
		return nil, errTableNotExist
	}
	return t, nil
}

// validTableName: letters, digits and underscores, not starting with a
// digit, at most 255 bytes.
func validTableName(s string) bool {
	if s == "" || len(s) > maxNameBytes {
		return false
	}
	for i, c := range []byte(s) {
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// validColumnName: the service takes any UTF-8 name of 1 to 255 bytes
// that does not start with '#' ("公司", "a.b" and " " are valid column
// names, "#abc" is not).
func validColumnName(s string) bool {
	return s != "" && len(s) <= maxNameBytes && s[0] != '#' && utf8.ValidString(s)
}

func checkTableName(name string) *otsError {
	if !validTableName(name) {
		return invalid("Invalid table name: '%s'.", name)
	}
	return nil
}

func checkColumnName(name string) *otsError {
	if !validColumnName(name) {
		return invalid("Invalid column name: '%s'.", name)
	}
	return nil
}

// newTable validates a CreateTableRequest and builds the empty table.
func newTable(instance string, req *otsprotocol.CreateTableRequest, createdMs int64) (*table, *otsError) {
	meta := req.GetTableMeta()
	if oerr := checkTableName(meta.GetTableName()); oerr != nil {
		return nil, oerr
	}
	pk := meta.GetPrimaryKey()
	if len(pk) == 0 || len(pk) > maxPKColumns {
		return nil, invalid("The number of primary key columns must be in range: [1, %d].", maxPKColumns)
	}
	seen := map[string]bool{}
	for i, c := range pk {
		if oerr := checkColumnName(c.GetName()); oerr != nil {
			return nil, oerr
		}
		if seen[c.GetName()] {
			return nil, invalid("Duplicated primary key name: '%s'.", c.GetName())
		}
		seen[c.GetName()] = true
		if _, ok := otsprotocol.PrimaryKeyType_name[int32(c.GetType())]; !ok {
			return nil, invalid("Invalid type of primary key column '%s'.", c.GetName())
		}
		if c.Option != nil {
			if c.GetOption() != otsprotocol.PrimaryKeyOption_AUTO_INCREMENT || c.GetType() != otsprotocol.PrimaryKeyType_INTEGER {
				return nil, invalid("Only an INTEGER primary key column can be AUTO_INCREMENT: '%s'.", c.GetName())
			}
			if i == 0 {
				return nil, invalid("The partition key '%s' cannot be AUTO_INCREMENT.", c.GetName())
			}
		}
	}
	for _, d := range meta.GetDefinedColumn() {
		if oerr := checkColumnName(d.GetName()); oerr != nil {
			return nil, oerr
		}
	}
	if len(req.GetIndexMetas()) > 0 || len(meta.GetIndexMeta()) > 0 {
		return nil, unsupported("Secondary indexes are not supported by the emulator.")
	}
	if req.GetStreamSpec().GetEnableStream() {
		return nil, unsupported("Streams are not supported by the emulator.")
	}
	opts := req.GetTableOptions()
	ttl, maxVersions := int32(-1), int32(1)
	if opts != nil && opts.TimeToLive != nil {
		ttl = opts.GetTimeToLive()
	}
	if opts != nil && opts.MaxVersions != nil {
		maxVersions = opts.GetMaxVersions()
	}
	if ttl != -1 && ttl < 86400 {
		return nil, invalid("TimeToLive must be -1 or at least 86400 seconds, got %d.", ttl)
	}
	if maxVersions < 1 {
		return nil, invalid("MaxVersions must be at least 1, got %d.", maxVersions)
	}
	if opts.GetDeviationCellVersionInSec() < 0 {
		return nil, invalid("DeviationCellVersionInSec must not be negative.")
	}
	return &table{
		instance:    instance,
		name:        meta.GetTableName(),
		create:      req,
		pk:          pk,
		ttlSeconds:  ttl,
		maxVersions: maxVersions,
		createdMs:   createdMs,
		index:       map[string]*row{},
	}, nil
}

func (t *table) deviationMs() int64 {
	if d := t.create.GetTableOptions().GetDeviationCellVersionInSec(); d > 0 {
		return d * 1000
	}
	return defaultDeviationSeconds * 1000
}

func (e *emulator) createTable(instance string, body []byte) (proto.Message, *otsError) {
	var req otsprotocol.CreateTableRequest
	if oerr := unmarshal(body, &req); oerr != nil {
		return nil, oerr
	}
	t, oerr := newTable(instance, &req, e.nowMs())
	if oerr != nil {
		return nil, oerr
	}
	if e.instances[instance][t.name] != nil {
		return nil, errTableExist
	}
	if err := e.persistTable(t); err != nil {
		return nil, internalError(err)
	}
	e.addTable(t)
	return &otsprotocol.CreateTableResponse{}, nil
}

func (e *emulator) addTable(t *table) {
	if e.instances[t.instance] == nil {
		e.instances[t.instance] = map[string]*table{}
	}
	e.instances[t.instance][t.name] = t
}

func (e *emulator) listTable(instance string, body []byte) (proto.Message, *otsError) {
	var req otsprotocol.ListTableRequest
	if oerr := unmarshal(body, &req); oerr != nil {
		return nil, oerr
	}
	resp := &otsprotocol.ListTableResponse{}
	for name := range e.instances[instance] {
		resp.TableNames = append(resp.TableNames, name)
	}
	slices.Sort(resp.TableNames)
	return resp, nil
}

func (e *emulator) deleteTable(instance string, body []byte) (proto.Message, *otsError) {
	var req otsprotocol.DeleteTableRequest
	if oerr := unmarshal(body, &req); oerr != nil {
		return nil, oerr
	}
	t, oerr := e.table(instance, req.GetTableName())
	if oerr != nil {
		return nil, oerr
	}
	if err := e.unpersistTable(t); err != nil {
		return nil, internalError(err)
	}
	delete(e.instances[instance], t.name)
	return &otsprotocol.DeleteTableResponse{}, nil
}

func (e *emulator) describeTable(instance string, body []byte) (proto.Message, *otsError) {
	var req otsprotocol.DescribeTableRequest
	if oerr := unmarshal(body, &req); oerr != nil {
		return nil, oerr
	}
	t, oerr := e.table(instance, req.GetTableName())
	if oerr != nil {
		return nil, oerr
	}
	throughput, options := t.details()
	return &otsprotocol.DescribeTableResponse{
		TableMeta: &otsprotocol.TableMeta{
			TableName:     proto.String(t.name),
			PrimaryKey:    t.pk,
			DefinedColumn: t.create.GetTableMeta().GetDefinedColumn(),
		},
		ReservedThroughputDetails: throughput,
		TableOptions:              options,
		TableStatus:               otsprotocol.TableStatus_ACTIVE.Enum(),
		StreamDetails:             &otsprotocol.StreamDetails{EnableStream: proto.Bool(false)},
	}, nil
}

// details returns the throughput and options as DescribeTable and
// UpdateTable report them, every field the SDK dereferences set.
func (t *table) details() (*otsprotocol.ReservedThroughputDetails, *otsprotocol.TableOptions) {
	cu := t.create.GetReservedThroughput().GetCapacityUnit()
	opts := t.create.GetTableOptions()
	allowUpdate := true
	if opts != nil && opts.AllowUpdate != nil {
		allowUpdate = opts.GetAllowUpdate()
	}
	return &otsprotocol.ReservedThroughputDetails{
			CapacityUnit: &otsprotocol.CapacityUnit{
				Read:  proto.Int32(cu.GetRead()),
				Write: proto.Int32(cu.GetWrite()),
			},
			LastIncreaseTime: proto.Int64(t.createdMs / 1000),
		}, &otsprotocol.TableOptions{
			TimeToLive:                proto.Int32(t.ttlSeconds),
			MaxVersions:               proto.Int32(t.maxVersions),
			DeviationCellVersionInSec: proto.Int64(t.deviationMs() / 1000),
			AllowUpdate:               proto.Bool(allowUpdate),
			UpdateFullRow:             proto.Bool(opts.GetUpdateFullRow()),
		}
}

// updateTable changes reserved throughput and table options.
func (e *emulator) updateTable(instance string, body []byte) (proto.Message, *otsError) {
	var req otsprotocol.UpdateTableRequest
	if oerr := unmarshal(body, &req); oerr != nil {
		return nil, oerr
	}
	t, oerr := e.table(instance, req.GetTableName())
	if oerr != nil {
		return nil, oerr
	}
	if req.GetStreamSpec().GetEnableStream() {
		return nil, unsupported("Streams are not supported by the emulator.")
	}
	if req.ReservedThroughput == nil && req.TableOptions == nil {
		return nil, invalid("Neither ReservedThroughput nor TableOptions is specified.")
	}
	next := proto.Clone(t.create).(*otsprotocol.CreateTableRequest)
	if rt := req.GetReservedThroughput(); rt != nil {
		next.ReservedThroughput = rt
	}
	if o := req.GetTableOptions(); o != nil {
		if next.TableOptions == nil {
			next.TableOptions = &otsprotocol.TableOptions{}
		}
		no := next.TableOptions
		if o.TimeToLive != nil {
			no.TimeToLive = o.TimeToLive
		}
		if o.MaxVersions != nil {
			no.MaxVersions = o.MaxVersions
		}
		if o.DeviationCellVersionInSec != nil {
			no.DeviationCellVersionInSec = o.DeviationCellVersionInSec
		}
		if o.AllowUpdate != nil {
			no.AllowUpdate = o.AllowUpdate
		}
		if o.UpdateFullRow != nil {
			no.UpdateFullRow = o.UpdateFullRow
		}
	}
	nt, oerr := newTable(instance, next, t.createdMs)
	if oerr != nil {
		return nil, oerr
	}
	staged := *t
	staged.create, staged.ttlSeconds, staged.maxVersions = next, nt.ttlSeconds, nt.maxVersions
	if err := e.persistTable(&staged); err != nil {
		return nil, internalError(err)
	}
	t.create, t.ttlSeconds, t.maxVersions = next, nt.ttlSeconds, nt.maxVersions
	// Versions beyond a lowered MaxVersions are dropped now rather than at
	// a compaction, so that raising it again cannot bring them back.
	var trimmed []planned
	for _, r := range t.rows {
		var c *row
		for name, vs := range r.cols {
			if int32(len(vs)) > t.maxVersions {
				if c == nil {
					c = r.clone()
				}
				c.cols[name] = t.trim(c.cols[name])
			}
		}
		if c != nil {
			trimmed = append(trimmed, planned{mut: mutation{t, rowKey(r.pk), c}})
		}
	}
	if oerr := e.apply(trimmed...); oerr != nil {
		return nil, oerr
	}
	throughput, options := t.details()
	return &otsprotocol.UpdateTableResponse{
		ReservedThroughputDetails: throughput,
		TableOptions:              options,
		StreamDetails:             &otsprotocol.StreamDetails{EnableStream: proto.Bool(false)},
	}, nil
}
