package mcp

// Every tool declares an outputSchema so that clients which validate or
// type tool results can rely on them. The schema is generated from the Go
// type of the tool's result data (the D of define and defineRaw), never
// written by hand, so it cannot drift from what the tool returns; a test
// runs every tool and its error shapes against it. Some clients validate
// every structuredContent, isError results included, so the schema is
// "success or error": anyOf the result type's object and the error object.

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/google/jsonschema-go/jsonschema"

	"grite/tools"
)

// outputSchema is the outputSchema of a tool whose successful calls return
// data of type D: {"type":"object","anyOf":[success, error]}. A write's
// results also carry the repository (the handler adds it).
func outputSchema[D any](write bool) json.RawMessage {
	ok, err := successSchema(reflect.TypeFor[D](), write)
	if err != nil {
		panic(err) // a result type JSON Schema cannot express: a programming error
	}
	b, err := json.Marshal(&jsonschema.Schema{Type: "object", AnyOf: []*jsonschema.Schema{ok, errorSchema()}})
	if err != nil {
		panic(err)
	}
	return b
}

// successSchema is the object a successful call's structuredContent is: t
// as encoding/json writes it (after nonNil), plus the keys the handler
// adds: repo to every write's, warnings when there are any.
func successSchema(t reflect.Type, write bool) (*jsonschema.Schema, error) {
	s, err := jsonschema.ForType(t, &jsonschema.ForOptions{TypeSchemas: map[reflect.Type]*jsonschema.Schema{
		reflect.TypeFor[json.RawMessage](): {}, // any JSON value, not an array of bytes
	}})
	if err != nil {
		return nil, err
	}
	if s.Type != "object" || s.Properties == nil {
		return nil, fmt.Errorf("result type %s is not a struct: structuredContent must be an object", t)
	}
	arraysNeverNull(s)
	add := func(name string, p *jsonschema.Schema, required bool) error {
		if _, taken := s.Properties[name]; taken {
			return fmt.Errorf("result type %s has a field %q, which the handler sets", t, name)
		}
		s.Properties[name] = p
		s.PropertyOrder = append(s.PropertyOrder, name)
		if required {
			s.Required = append(s.Required, name)
		}
		return nil
	}
	if write {
		if err := add("repo", &jsonschema.Schema{Type: "string"}, true); err != nil {
			return nil, err
		}
	}
	if err := add("warnings", &jsonschema.Schema{Type: "array", Items: &jsonschema.Schema{Type: "string"}}, false); err != nil {
		return nil, err
	}
	return s, nil
}

// arraysNeverNull declares every slice a JSON array, where the generator
// allows null for a nil slice: nonNil makes sure results have no nil
// slices, and a client had rather not handle null for an empty list.
func arraysNeverNull(s *jsonschema.Schema) {
	if s == nil {
		return
	}
	if len(s.Types) == 2 && s.Types[0] == "null" && s.Types[1] == "array" {
		s.Type, s.Types = "array", nil
	}
	arraysNeverNull(s.Items)
	arraysNeverNull(s.AdditionalProperties)
	for _, p := range s.Properties {
		arraysNeverNull(p)
	}
}

// errorSchema is the structuredContent of an isError result (errorResult).
func errorSchema() *jsonschema.Schema {
	codes := make([]any, len(tools.Codes))
	for i, c := range tools.Codes {
		codes[i] = string(c)
	}
	return &jsonschema.Schema{
		Type:     "object",
		Required: []string{"code", "message"},
		Properties: map[string]*jsonschema.Schema{
			"code":    {Type: "string", Enum: codes},
			"message": {Type: "string"},
			"details": {Type: "object"},
		},
		PropertyOrder:        []string{"code", "message", "details"},
		AdditionalProperties: &jsonschema.Schema{Not: &jsonschema.Schema{}},
	}
}

// nonNil makes a result match its schema's arrays and objects: every nil
// slice or map it reaches through structs and slices becomes an empty one
// (encoding/json writes nil as null). v must be settable. A slice whose
// elements change is copied first, and so is what a pointer points to, so
// data the result shares with the session is never written.
func nonNil(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				nonNil(v.Field(i))
			}
		}
	case reflect.Array:
		for i := range v.Len() {
			nonNil(v.Index(i))
		}
	case reflect.Pointer:
		if !v.IsNil() && holdsNilable(v.Type().Elem(), map[reflect.Type]bool{}) {
			c := reflect.New(v.Type().Elem())
			c.Elem().Set(v.Elem())
			nonNil(c.Elem())
			v.Set(c)
		}
	case reflect.Map:
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
	case reflect.Slice:
		if v.IsNil() {
			if v.Type() != reflect.TypeFor[json.RawMessage]() {
				v.Set(reflect.MakeSlice(v.Type(), 0, 0))
			}
			return
		}
		if !holdsNilable(v.Type().Elem(), map[reflect.Type]bool{}) {
			return
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(c, v)
		for i := range c.Len() {
			nonNil(c.Index(i))
		}
		v.Set(c)
	}
}

// holdsNilable says whether a value of type t may hold a slice or map
// that nonNil would replace.
func holdsNilable(t reflect.Type, seen map[reflect.Type]bool) bool {
	switch t.Kind() {
	case reflect.Slice, reflect.Map:
		return true
	case reflect.Pointer, reflect.Array:
		return holdsNilable(t.Elem(), seen)
	case reflect.Struct:
		if seen[t] {
			return false
		}
		seen[t] = true
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() && holdsNilable(f.Type, seen) {
				return true
			}
		}
	}
	return false
}
