package httpapi

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DefaultBodyLimit is the body size DecodeJSON accepts when given a limit
// of zero or less.
const DefaultBodyLimit int64 = 1 << 20

// Error codes of DecodeJSON's answers.
const (
	CodeInvalidBody  = "invalid_body"
	CodeBodyTooLarge = "body_too_large"
	CodeInternal     = "internal_error"
)

// Rules DecodeJSON reports in ErrorBody.Rule.
const (
	RuleUnknownField = "unknown_field"
	RuleType         = "type"
)

// DecodeJSON reads r's body, at most limit bytes (DefaultBodyLimit when
// limit <= 0), as exactly one JSON value into v, which must be a non-nil
// pointer. It is strict, so a client's mistake is reported rather than
// half-applied:
//
//   - a body over the limit is 413 body_too_large;
//   - an empty body, null, invalid UTF-8, invalid JSON, a field v does not
//     have, a value of the wrong type, or data after the value is one 400
//     invalid_body whose message says what is wrong and, for a field,
//     whose field names it as a dotted path ("msg.text.content").
//
// On failure DecodeJSON has already answered r with dingfn's JSON error
// body and returns the *Error it sent (to log, if wanted); the handler
// just returns. v may have been partly filled and must not be used.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	if e := decodeJSON(w, r, v, limit); e != nil {
		e.Write(w, r)
		return e
	}
	return nil
}

func invalidBody(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Body: ErrorBody{Error: CodeInvalidBody, Message: fmt.Sprintf(format, args...)}}
}

// ReadBody reads r's body, at most limit bytes (DefaultBodyLimit when
// limit <= 0): a body over the limit, whether its Content-Length says so
// or it turns out so, is a 413 body_too_large *Error, and a body that
// cannot be read (the client went away) the read's error. No body reads
// as empty.
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultBodyLimit
	}
	tooLarge := &Error{Status: http.StatusRequestEntityTooLarge, Body: ErrorBody{
		Error: CodeBodyTooLarge, Message: "body exceeds " + strconv.FormatInt(limit, 10) + " bytes"}}
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	if r.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return nil, tooLarge
	}
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	return body, nil
}

func decodeJSON(w http.ResponseWriter, r *http.Request, v any, limit int64) *Error {
	body, err := ReadBody(w, r, limit)
	if e, ok := errors.AsType[*Error](err); ok {
		return e
	}
	if err != nil {
		return invalidBody("body could not be read")
	}
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) == 0:
		return invalidBody("body is empty; send a JSON object")
	case !utf8.Valid(body):
		return invalidBody("body is not valid UTF-8")
	case string(trimmed) == "null":
		return invalidBody("body is null; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(body, v, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalidBody("body has more data after its JSON value (at byte %d); send exactly one JSON value", dec.InputOffset())
	}
	return nil
}

// unknownFieldPrefix starts encoding/json's error for a field the target
// has no room for. The package has no typed error for it (up to Go 1.26),
// so its text is matched here, in one place, and pinned by a test.
const unknownFieldPrefix = "json: unknown field "

func decodeError(body []byte, v any, err error) *Error {
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return invalidBody("body is not valid JSON at byte %d: %s", se.Offset, se.Error())
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return invalidBody("body ends before its JSON value is complete")
	}
	if ue, ok := errors.AsType[*json.InvalidUnmarshalError](err); ok {
		// A wiring mistake (v is not a non-nil pointer), not the client's.
		return &Error{Status: http.StatusInternalServerError, Body: ErrorBody{Error: CodeInternal, Message: "request could not be decoded: " + ue.Error()}}
	}
	target := reflect.TypeOf(v)
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		got, want := te.Value, article(jsonKind(te.Type))
		if te.Field == "" {
			return invalidBody("body must be %s, got %s", want, got)
		}
		field, ft, ok := typeErrorField(target, strings.Split(te.Field, "."))
		if !ok {
			field = te.Field
		}
		msg := fmt.Sprintf("field %q: must be %s, got %s", field, want, got)
		if ok && ft != te.Type {
			switch deref(ft).Kind() {
			case reflect.Slice, reflect.Array:
				msg = fmt.Sprintf("field %q: each element must be %s, got %s", field, want, got)
			case reflect.Map:
				msg = fmt.Sprintf("field %q: each value must be %s, got %s", field, want, got)
			}
		}
		e := invalidBody("%s", msg)
		e.Body.Field, e.Body.Rule = field, RuleType
		return e
	}
	if name, ok := strings.CutPrefix(err.Error(), unknownFieldPrefix); ok {
		if n, uerr := strconv.Unquote(name); uerr == nil {
			name = n
		}
		path := name
		if p, found := unknownField(body, target); found {
			path = p
		}
		e := invalidBody("field %q is not known; check its spelling", path)
		e.Body.Field, e.Body.Rule = path, RuleUnknownField
		return e
	}
	// An UnmarshalJSON method of the target refused its value.
	return invalidBody("body: %s", err.Error())
}

func deref(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// jsonKind names the JSON value a Go type takes.
func jsonKind(t reflect.Type) string {
	t = deref(t)
	if t == nil {
		return "value"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "base64 string"
		}
		return "array"
	case reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return "value"
}

func article(kind string) string {
	switch kind[0] {
	case 'a', 'e', 'i', 'o', 'u':
		return "an " + kind
	}
	return "a " + kind
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// opaque reports whether encoding/json hands t's values whole to a method
// (or, for an interface, takes anything), so no field inside is unknown.
func opaque(t reflect.Type) bool {
	if t.Kind() == reflect.Interface {
		return true
	}
	pt := reflect.PointerTo(t)
	return pt.Implements(jsonUnmarshaler) || pt.Implements(textUnmarshaler) ||
		t.Implements(jsonUnmarshaler) || t.Implements(textUnmarshaler)
}

// structField finds the field encoding/json decodes the object key name
// into: an exact tag or field name first, then a case-insensitive match,
// looking through embedded structs as encoding/json does.
func structField(t reflect.Type, name string) (reflect.Type, bool) {
	var fold reflect.Type
	var walk func(t reflect.Type, depth int) reflect.Type
	walk = func(t reflect.Type, depth int) reflect.Type {
		if depth > 8 {
			return nil
		}
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			tagName, _, _ := strings.Cut(tag, ",")
			if f.Anonymous && tagName == "" {
				if et := deref(f.Type); et.Kind() == reflect.Struct {
					if ft := walk(et, depth+1); ft != nil {
						return ft
					}
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			n := tagName
			if n == "" {
				n = f.Name
			}
			if n == name {
				return f.Type
			}
			if fold == nil && strings.EqualFold(n, name) {
				fold = f.Type
			}
		}
		return nil
	}
	if ft := walk(t, 0); ft != nil {
		return ft, true
	}
	return fold, fold != nil
}

// typeErrorField resolves the field path encoding/json reports in an
// UnmarshalTypeError against t. That path names embedded structs by their
// Go type ("base.agent_id" for an agent_id promoted from an embedded base),
// which a client never sent; the returned path has them taken out. ft is
// the type of the field the path ends at (array elements and map values
// take no segment).
func typeErrorField(t reflect.Type, segs []string) (path string, ft reflect.Type, ok bool) {
	t = deref(t)
	var out []string
	for _, seg := range segs {
		for t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
			t = deref(t.Elem())
		}
		if t.Kind() != reflect.Struct {
			return "", nil, false
		}
		if f, found := t.FieldByName(seg); found && f.Anonymous && f.Tag.Get("json") == "" && deref(f.Type).Kind() == reflect.Struct {
			t = deref(f.Type)
			continue
		}
		next, found := structField(t, seg)
		if !found {
			return "", nil, false
		}
		out = append(out, seg)
		t = next
	}
	return strings.Join(out, "."), t, len(out) > 0
}

// unknownField finds, in document order as encoding/json reads it, the
// first object key in data that the type t has no field for, and returns
// its dotted path: "msg.text.bogus", "labels.<key>.bogus" inside a map
// value; array elements take no segment, as in encoding/json's own paths.
func unknownField(data []byte, t reflect.Type) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	path, found, _ := walkUnknown(dec, deref(t), nil)
	return strings.Join(path, "."), found
}

// walkUnknown reads one JSON value from dec, descending alongside t (nil
// when nothing inside the value can be unknown).
func walkUnknown(dec *json.Decoder, t reflect.Type, path []string) ([]string, bool, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, false, err
	}
	t = deref(t)
	if t != nil && opaque(t) {
		t = nil
	}
	switch tok {
	case json.Delim('{'):
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, false, err
			}
			key, _ := kt.(string)
			var sub reflect.Type
			if t != nil {
				switch t.Kind() {
				case reflect.Struct:
					ft, ok := structField(t, key)
					if !ok {
						return append(path, key), true, nil
					}
					sub = ft
				case reflect.Map:
					sub = t.Elem()
				}
			}
			if p, found, err := walkUnknown(dec, sub, append(path, key)); found || err != nil {
				return p, found, err
			}
		}
		_, err = dec.Token()
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for dec.More() {
			if p, found, err := walkUnknown(dec, elem, path); found || err != nil {
				return p, found, err
			}
		}
		_, err = dec.Token()
	}
	return nil, false, err
}
