package dingtalktest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// param is one request parameter, from a JSON body (raw) or from a query or
// form body (str, form=true).
type param struct {
	raw  json.RawMessage
	str  string
	form bool
}

// params are an old-API request's parameters: the query merged with a JSON
// or form-urlencoded body (the body wins), as DingTalk accepts both.
type params struct {
	vals map[string]param
}

// queryParams reads the query string alone, as the new API's GET calls
// carry their parameters.
func queryParams(r *http.Request) params {
	p := params{vals: map[string]param{}}
	for k, v := range r.URL.Query() {
		p.vals[k] = param{str: v[0], form: true}
	}
	return p
}

func parseParams(r *http.Request, body []byte) (params, error) {
	p := queryParams(r)
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return p, nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	isJSON := ct == "application/json" || (ct != "application/x-www-form-urlencoded" && trimmed[0] == '{')
	if isJSON {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &m); err != nil {
			return p, fmt.Errorf("body is not a JSON object: %v", err)
		}
		for k, v := range m {
			p.vals[k] = param{raw: v}
		}
		return p, nil
	}
	form, err := url.ParseQuery(string(trimmed))
	if err != nil {
		return p, fmt.Errorf("body is not form-urlencoded: %v", err)
	}
	for k, v := range form {
		p.vals[k] = param{str: v[0], form: true}
	}
	return p, nil
}

// has reports whether k is present and not JSON null.
func (p params) has(k string) bool {
	v, ok := p.vals[k]
	return ok && !(!v.form && string(v.raw) == "null")
}

// str returns k as a string; JSON numbers and booleans give their text.
func (p params) str(k string) (string, bool) {
	v, ok := p.vals[k]
	if !ok {
		return "", false
	}
	if v.form {
		return v.str, true
	}
	var s string
	if err := json.Unmarshal(v.raw, &s); err == nil {
		return s, true
	}
	if string(v.raw) == "null" {
		return "", false
	}
	return string(v.raw), true
}

var errNotNumber = errors.New("not a number")

// int64 returns k as an integer; a numeric string is accepted.
func (p params) int64(k string) (int64, bool, error) {
	s, ok := p.str(k)
	if !ok {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, true, fmt.Errorf("%s: %w", k, errNotNumber)
	}
	return n, true, nil
}

// needInt64 returns k as an integer, or the 40035 reply DingTalk gives
// when it is missing or not a number.
func (p params) needInt64(k string) (int64, reply, bool) {
	n, has, err := p.int64(k)
	if err != nil {
		return 0, badParam(err), true
	}
	if !has {
		return 0, missing(k), true
	}
	return n, reply{}, false
}

// bool returns k as a boolean; "true"/"false" strings are accepted.
func (p params) bool(k string) (bool, bool, error) {
	s, ok := p.str(k)
	if !ok {
		return false, false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, true, fmt.Errorf("%s: not a boolean", k)
	}
	return b, true, nil
}

// decode unmarshals k into dst. A JSON value or a string holding JSON (as
// form bodies carry objects) are both accepted.
func (p params) decode(k string, dst any) (bool, error) {
	v, ok := p.vals[k]
	if !ok {
		return false, nil
	}
	data := []byte(v.str)
	if !v.form {
		data = v.raw
		var s string
		if json.Unmarshal(v.raw, &s) == nil {
			data = []byte(s)
		}
	}
	if err := json.Unmarshal(data, dst); err != nil {
		return true, fmt.Errorf("%s: %v", k, err)
	}
	return true, nil
}

// strList returns k as a list of strings: "a,b" or a JSON array.
func (p params) strList(k string) ([]string, bool, error) {
	v, ok := p.vals[k]
	if !ok {
		return nil, false, nil
	}
	if out, isArray, err := jsonArray[string](v, k); isArray {
		return out, true, err
	}
	s, _ := p.str(k)
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out, true, nil
}

// intList returns k as a list of integers: "1,2" or a JSON array.
func (p params) intList(k string) ([]int64, bool, error) {
	v, ok := p.vals[k]
	if !ok {
		return nil, false, nil
	}
	if out, isArray, err := jsonArray[int64](v, k); isArray {
		return out, true, err
	}
	ss, _, _ := p.strList(k)
	out := make([]int64, 0, len(ss))
	for _, s := range ss {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, true, fmt.Errorf("%s: %q is not a number", k, s)
		}
		out = append(out, n)
	}
	return out, true, nil
}

// jsonArray decodes v, the value of k, when it came as a JSON array;
// isArray is false for a form value or a JSON string such as "a,b".
func jsonArray[T any](v param, k string) (out []T, isArray bool, err error) {
	if v.form || len(v.raw) == 0 || v.raw[0] != '[' {
		return nil, false, nil
	}
	if err := json.Unmarshal(v.raw, &out); err != nil {
		return nil, true, fmt.Errorf("%s: %v", k, err)
	}
	return out, true, nil
}

// offsetSize reads the offset/size pair of an offset-paged call: size is
// 1..max and def when absent.
func offsetSize(rq *request, max, def int64) (int, int, reply, bool) {
	offset, _, err := rq.params.int64("offset")
	if err != nil || offset < 0 {
		return 0, 0, fail(40068, "不合法的偏移量"), true
	}
	size, has, err := rq.params.int64("size")
	if err != nil || (has && (size < 1 || size > max)) {
		return 0, 0, fail(40069, fmt.Sprintf("不合法的分页大小(1-%d)", max)), true
	}
	if !has {
		size = def
	}
	return int(offset), int(size), reply{}, false
}
