package main

import (
	"bytes"
	"encoding"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"sync"
)

// writePrettyJSON writes v followed by a newline exactly as encoding/json's
// Encoder does with SetIndent("", "  ") and SetEscapeHTML(false) (the
// pretty JSON of docs/cli.md, Output), but writes the elements of the
// arrays in v's top two levels of plain structs one at a time. The Encoder
// builds the whole document in memory twice (compact, then indented), both
// growing by doubling: 29 MB of fresh memory, most of the time, for a
// listing of 10k issues, which is about 3 MB of output.
func writePrettyJSON(w io.Writer, v any) error {
	p := &prettyJSON{w: w}
	p.enc = json.NewEncoder(&p.buf)
	p.enc.SetEscapeHTML(false)
	p.value(reflect.ValueOf(v), 0, 3)
	p.write([]byte{'\n'})
	return p.err
}

type prettyJSON struct {
	w   io.Writer
	buf bytes.Buffer
	enc *json.Encoder
	err error
}

func (p *prettyJSON) write(b []byte) {
	if p.err == nil {
		_, p.err = p.w.Write(b)
	}
}

func indent(depth int) string { return strings.Repeat("  ", depth) }

// value writes v at nesting depth; levels says how many more levels of
// structs and arrays it may open itself before handing values to
// encoding/json whole.
func (p *prettyJSON) value(v reflect.Value, depth, levels int) {
	if levels > 0 && v.IsValid() && !customJSON(v.Type()) {
		switch v.Kind() {
		case reflect.Interface, reflect.Pointer:
			if !v.IsNil() {
				p.value(v.Elem(), depth, levels)
				return
			}
		case reflect.Struct:
			if fields, ok := plainFields(v.Type()); ok {
				p.object(v, fields, depth, levels-1)
				return
			}
		case reflect.Slice:
			if v.Len() > 0 && v.Type().Elem().Kind() != reflect.Uint8 {
				p.array(v, depth, levels-1)
				return
			}
		}
	}
	p.whole(v, depth)
}

// whole writes v through encoding/json, indented for depth.
func (p *prettyJSON) whole(v reflect.Value, depth int) {
	var x any
	switch {
	case v.CanAddr():
		// As encoding/json does for an addressable value: methods with
		// pointer receivers apply.
		x = v.Addr().Interface()
	case v.IsValid():
		x = v.Interface()
	}
	p.buf.Reset()
	p.enc.SetIndent(indent(depth), "  ")
	if err := p.enc.Encode(x); err != nil {
		if p.err == nil {
			p.err = err
		}
		return
	}
	p.write(bytes.TrimSuffix(p.buf.Bytes(), []byte{'\n'}))
}

func (p *prettyJSON) object(v reflect.Value, fields []jsonField, depth, levels int) {
	n := 0
	for _, f := range fields {
		fv := v.Field(f.index)
		if f.omitEmpty && isEmptyValue(fv) {
			continue
		}
		if n == 0 {
			p.write([]byte{'{'})
		} else {
			p.write([]byte{','})
		}
		n++
		p.write([]byte("\n" + indent(depth+1)))
		p.write(f.key)
		p.value(fv, depth+1, levels)
	}
	if n == 0 {
		p.write([]byte("{}"))
		return
	}
	p.write([]byte("\n" + indent(depth) + "}"))
}

func (p *prettyJSON) array(v reflect.Value, depth, levels int) {
	p.write([]byte{'['})
	for i := range v.Len() {
		if i > 0 {
			p.write([]byte{','})
		}
		p.write([]byte("\n" + indent(depth+1)))
		p.value(v.Index(i), depth+1, levels)
	}
	p.write([]byte("\n" + indent(depth) + "]"))
}

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// customJSON: t or *t encodes itself, so only encoding/json knows its form.
func customJSON(t reflect.Type) bool {
	for _, u := range []reflect.Type{t, reflect.PointerTo(t)} {
		if u.Implements(marshalerType) || u.Implements(textMarshalerType) {
			return true
		}
	}
	return false
}

// jsonField is a struct field as encoding/json writes it.
type jsonField struct {
	index     int
	key       []byte // `"name": `
	omitEmpty bool
}

var fieldCache sync.Map // reflect.Type → []jsonField, or nil when not plain

// plainFields returns t's fields in encoding/json's order when t is a
// plain struct: no embedded fields and no tag options beyond omitempty,
// the cases where the fields are exactly t's own in declaration order.
func plainFields(t reflect.Type) ([]jsonField, bool) {
	if c, ok := fieldCache.Load(t); ok {
		fs := c.([]jsonField)
		return fs, fs != nil
	}
	var fs []jsonField
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			fs = nil
			break
		}
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if opts != "" && opts != "omitempty" || !plainKey(name) {
			fs = nil
			break
		}
		if name == "" {
			name = f.Name
		}
		fs = append(fs, jsonField{index: i, key: []byte(`"` + name + `": `), omitEmpty: opts == "omitempty"})
	}
	// nil (not plain, or no fields to write): encoding/json writes it.
	fieldCache.Store(t, fs)
	return fs, fs != nil
}

// plainKey: a name encoding/json writes as it is, quotes around it.
func plainKey(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// isEmptyValue is encoding/json's omitempty test.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64,
		reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}
