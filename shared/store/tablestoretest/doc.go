// Package tablestoretest is a protocol-level Tablestore (表格存储, OTS)
// emulator: an HTTP server that the unmodified Tablestore Go SDK talks to,
// decoding the protobuf request bodies and PlainBuffer rows exactly as the
// service does.
//
// It implements CreateTable, ListTable, DescribeTable, UpdateTable,
// DeleteTable, PutRow, GetRow, UpdateRow (put, delete and increment of
// columns, with RT_AFTER_MODIFY), DeleteRow, GetRange (forward and backward, limit,
// next_start_primary_key, the 5000-row scan limit), BatchGetRow and
// BatchWriteRow (per-row results in request order, 100/200-row and 4 MB
// limits). Writes honour row existence expectations and single or composite
// column conditions, in a batch one per row, each row on its own; reads
// honour columns_to_get, max_versions, time ranges, filters and column
// pagination. Errors carry the service's codes, HTTP statuses and messages
// (OTSInvalidPK for a key that does not fit the table, OTSObjectNotExist,
// OTSConditionCheckFail, OTSParameterInvalid, …), so the SDK's retry logic
// and callers' error handling behave as in production. As on the service,
// a batch fails as a whole for what needs no table (names, key formats,
// sizes) and row by row for what does (a missing table, a key that does
// not fit its schema, a condition). errors_test.go pins each answer and
// names its source. One known difference: a BatchWriteRow naming one row
// twice is refused, where the service's own tests suggest it accepts it
// with semantics they do not show.
//
// Tests start one with NewServer and inject failures with FailNext (whole
// requests) or FailNextRows (single rows of a batch); Requests counts what
// reached the server so tests can assert the SDK retried:
//
//	s := tablestoretest.NewServer()
//	defer s.Close()
//	s.FailNext("GetRow", 2, tablestoretest.ServerBusy)
//	client := s.NewClient("inst")
//
// ListenAndServe runs it standalone, optionally persisting to a bbolt data
// file, so several local processes can share one Tablestore-compatible
// store:
//
//	go run ./cmd/dingfn tablestore-fake --addr 127.0.0.1:8799 --data ots.db
//	DINGFN_STORE=tablestore TABLESTORE_ENDPOINT=http://127.0.0.1:8799 \
//	TABLESTORE_INSTANCE=local … (any credentials)
//
// The emulator accepts any instance name and credentials unless
// WithAccessKey asks it to verify signatures; tables are namespaced by the
// x-ots-instancename header. UpdateTable changes options and throughput.
// Secondary and search indexes, streams, local transactions, atomic batch
// writes, regex filters and the time-series and SQL APIs are not
// implemented; those requests get OTSUnsupportOperation.
package tablestoretest
