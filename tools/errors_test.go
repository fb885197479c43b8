package tools

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"slices"
	"strconv"
	"testing"

	"grite/store"
)

// Errors from anywhere below tools/ reach the edge as plain wrapped errors
// and are mapped there, once, by Op.Call; nil stays nil (an untyped nil
// error, not a nil *Error in an interface).
func TestOpCallMapsErrorsOnceAndKeepsNilNil(t *testing.T) {
	if AsError(nil) != nil {
		t.Fatal("AsError(nil) is not nil")
	}
	op := Op[error, struct{}]{Run: func(_ context.Context, _ *Session, in error) (struct{}, error) { return struct{}{}, in }}
	if _, err := op.Call(context.Background(), nil, nil); err != nil {
		t.Fatalf("Call of an operation that succeeded returned %#v", err)
	}
	for _, tc := range []struct {
		err  error
		code Code
	}{
		{fmt.Errorf("catch up: %w", store.ErrBusy), CodeDBBusy},
		{fmt.Errorf("open view: %w", &os.PathError{Op: "open", Path: "view.db", Err: os.ErrPermission}), CodeIO},
		{errors.New("something unexpected"), CodeInternal},
		{fmt.Errorf("resolve: %w", newErr(CodeNotFound, "issue x not found")), CodeNotFound},
	} {
		_, err := op.Call(context.Background(), nil, tc.err)
		var te *Error
		if !errors.As(err, &te) || te.Code != tc.code {
			t.Errorf("Call returning %v gave %#v, want code %s", tc.err, err, tc.code)
		}
	}
}

// Codes lists every Code constant declared in errors.go, so a new code
// reaches the MCP output schemas' enum.
func TestCodesListsEveryCode(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var declared []Code
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			v := spec.(*ast.ValueSpec)
			if id, ok := v.Type.(*ast.Ident); !ok || id.Name != "Code" {
				continue
			}
			for _, val := range v.Values {
				lit := val.(*ast.BasicLit)
				s, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				declared = append(declared, Code(s))
			}
		}
	}
	if len(declared) == 0 || !slices.Equal(declared, Codes) {
		t.Fatalf("Codes %v, want the declared codes %v", Codes, declared)
	}
}
