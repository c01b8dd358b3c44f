package platform

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// members decodes a JSON object member by member: each name maps to where
// its value goes, a pointer json.Unmarshal fills (a string, a bool, a map,
// a slice) or members of its own for a nested object; other members are
// skipped, null leaves a destination as it was, and names match as
// encoding/json matches struct fields (exactly, else ignoring case).
//
// The platform event types decode through it rather than as plain
// structs: encoding/json builds a struct type's decoder at the type's
// first use, which for a function is every cold start, and that cost more
// than the rest of serving the first request.
type members map[string]any

// unmarshal decodes the JSON object b into m's destinations.
func (m members) unmarshal(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	return m.decode(dec)
}

func (m members) decode(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("json: cannot read %v as an object", tok)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		switch dst := m.lookup(name).(type) {
		case nil:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		case members:
			err = dst.decode(dec)
		default:
			err = dec.Decode(dst)
		}
		if err != nil {
			return fmt.Errorf("json: member %q: %w", name, err)
		}
	}
	_, err = dec.Token() // the closing brace
	return err
}

func (m members) lookup(name string) any {
	if dst, ok := m[name]; ok {
		return dst
	}
	for k, dst := range m {
		if strings.EqualFold(k, name) {
			return dst
		}
	}
	return nil
}

// marshalMembers writes a JSON object of the name-value pairs kv, in
// order, each value as json.Marshal writes it; the response types use it
// for the reason members exists.
func marshalMembers(kv ...any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		name, err := json.Marshal(kv[i])
		if err != nil {
			return nil, err
		}
		value, err := json.Marshal(kv[i+1])
		if err != nil {
			return nil, err
		}
		b.Write(name)
		b.WriteByte(':')
		b.Write(value)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
