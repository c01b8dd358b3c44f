package tablestoretest

import (
	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore/otsprotocol"
	"github.com/golang/protobuf/proto"

	pb "github.com/dingfn/dingfn/shared/store/tablestoretest/internal/plainbuf"
)

// maxFilterNodes is the service's limit on the filters in one filter
// tree, composite and single alike (which also bounds its depth).
const maxFilterNodes = 32

// filter is a decoded column filter: a tree of single-column conditions
// joined by NOT/AND/OR, or a column pagination.
type filter struct {
	// single
	column          string
	comparator      otsprotocol.ComparatorType
	value           pb.Value
	filterIfMissing bool
	latestOnly      bool
	// composite
	op   otsprotocol.LogicalOperator
	subs []*filter
	// pagination (reads only)
	paginate      bool
	offset, limit int32
}

// parseFilter decodes a serialized otsprotocol.Filter. Pagination is only
// accepted at the top level of a read.
func parseFilter(b []byte, allowPagination bool) (*filter, *otsError) {
	var f otsprotocol.Filter
	if err := proto.Unmarshal(b, &f); err != nil {
		return nil, invalid("Invalid filter: %v.", err)
	}
	count := 0
	out, oerr := decodeFilter(&f, allowPagination, &count)
	if oerr != nil {
		return nil, oerr
	}
	return out, nil
}

func decodeFilter(f *otsprotocol.Filter, allowPagination bool, count *int) (*filter, *otsError) {
	*count++
	if *count > maxFilterNodes {
		return nil, invalid("The count of filter exceeds the max: %d.", maxFilterNodes)
	}
	switch f.GetType() {
	case otsprotocol.FilterType_FT_SINGLE_COLUMN_VALUE:
		var s otsprotocol.SingleColumnValueFilter
		if err := proto.Unmarshal(f.GetFilter(), &s); err != nil {
			return nil, invalid("Invalid single column value filter: %v.", err)
		}
		if s.ValueTransRule != nil {
			return nil, unsupported("value_trans_rule (regex filters) is not supported by the emulator.")
		}
		if oerr := checkColumnName(s.GetColumnName()); oerr != nil {
			return nil, oerr
		}
		v, err := pb.DecodeValue(s.GetColumnValue())
		if err != nil {
			return nil, invalid("Invalid column value of filter on %q: %v.", s.GetColumnName(), err)
		}
		switch v.Type {
		case pb.Integer, pb.Double, pb.Boolean, pb.String, pb.Blob:
		default:
			return nil, invalid("Invalid column value type %s of filter on %q.", v.Type, s.GetColumnName())
		}
		if _, ok := otsprotocol.ComparatorType_name[int32(s.GetComparator())]; !ok {
			return nil, invalid("Invalid comparator %d.", s.GetComparator())
		}
		return &filter{
			column:          s.GetColumnName(),
			comparator:      s.GetComparator(),
			value:           v,
			filterIfMissing: s.GetFilterIfMissing(),
			latestOnly:      s.GetLatestVersionOnly(),
		}, nil
	case otsprotocol.FilterType_FT_COMPOSITE_COLUMN_VALUE:
		var c otsprotocol.CompositeColumnValueFilter
		if err := proto.Unmarshal(f.GetFilter(), &c); err != nil {
			return nil, invalid("Invalid composite column value filter: %v.", err)
		}
		n := len(c.GetSubFilters())
		switch c.GetCombinator() {
		case otsprotocol.LogicalOperator_LO_NOT:
			if n != 1 {
				return nil, invalid("The NOT operator takes exactly one sub filter, got %d.", n)
			}
		case otsprotocol.LogicalOperator_LO_AND, otsprotocol.LogicalOperator_LO_OR:
			if n < 2 {
				return nil, invalid("The %s operator takes at least two sub filters, got %d.", c.GetCombinator(), n)
			}
		default:
			return nil, invalid("Invalid logical operator %d.", c.GetCombinator())
		}
		out := &filter{op: c.GetCombinator()}
		for _, sf := range c.GetSubFilters() {
			sub, oerr := decodeFilter(sf, false, count)
			if oerr != nil {
				return nil, oerr
			}
			out.subs = append(out.subs, sub)
		}
		return out, nil
	case otsprotocol.FilterType_FT_COLUMN_PAGINATION:
		if !allowPagination {
			return nil, invalid("A column pagination filter is only allowed as the whole filter of a read.")
		}
		var p otsprotocol.ColumnPaginationFilter
		if err := proto.Unmarshal(f.GetFilter(), &p); err != nil {
			return nil, invalid("Invalid column pagination filter: %v.", err)
		}
		if p.GetOffset() < 0 || p.GetLimit() < 0 {
			return nil, invalid("Offset and limit of a column pagination filter must not be negative.")
		}
		return &filter{paginate: true, offset: p.GetOffset(), limit: p.GetLimit()}, nil
	}
	return nil, invalid("Invalid filter type %d.", f.GetType())
}

// match evaluates f against the columns of r (nil: the row is absent, so
// every column is missing).
func (f *filter) match(r *row) bool {
	if f.paginate {
		return true
	}
	if f.subs != nil {
		switch f.op {
		case otsprotocol.LogicalOperator_LO_NOT:
			return !f.subs[0].match(r)
		case otsprotocol.LogicalOperator_LO_AND:
			for _, s := range f.subs {
				if !s.match(r) {
					return false
				}
			}
			return true
		default:
			for _, s := range f.subs {
				if s.match(r) {
					return true
				}
			}
			return false
		}
	}
	var vs []version
	if r != nil {
		vs = r.cols[f.column]
	}
	if len(vs) == 0 {
		// filter_if_missing=false (the Go SDK's zero value) lets the row
		// pass when the column is absent.
		return !f.filterIfMissing
	}
	if f.latestOnly {
		vs = vs[:1]
	}
	for _, v := range vs {
		if f.compare(v.v) {
			return true
		}
	}
	return false
}

// compare applies the comparator; values of different types never match.
func (f *filter) compare(v pb.Value) bool {
	if v.Type != f.value.Type {
		return false
	}
	c := compareValue(v, f.value)
	switch f.comparator {
	case otsprotocol.ComparatorType_CT_EQUAL:
		return c == 0
	case otsprotocol.ComparatorType_CT_NOT_EQUAL:
		return c != 0
	case otsprotocol.ComparatorType_CT_GREATER_THAN:
		return c > 0
	case otsprotocol.ComparatorType_CT_GREATER_EQUAL:
		return c >= 0
	case otsprotocol.ComparatorType_CT_LESS_THAN:
		return c < 0
	default:
		return c <= 0
	}
}
