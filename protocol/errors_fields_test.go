package protocol

import (
	"go/ast"
	"go/parser"
	"go/token"
	"testing"
)

// TestEvery422NamesItsFields: every 422 in the error table carries the
// fields it is about (errors: {field: [message]}), so a client can show the
// message beside the field; a new 422 without them fails here.
func TestEvery422NamesItsFields(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	ast.Inspect(f, func(node ast.Node) bool {
		lit, ok := node.(*ast.CompositeLit)
		if !ok {
			return true
		}
		if id, ok := lit.Type.(*ast.Ident); !ok || id.Name != "Error" {
			return true
		}
		var status string
		hasErrors := false
		for _, e := range lit.Elts {
			kv, ok := e.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			switch kv.Key.(*ast.Ident).Name {
			case "Status":
				if b, ok := kv.Value.(*ast.BasicLit); ok {
					status = b.Value
				}
			case "Errors":
				hasErrors = true
			}
		}
		if status == "422" {
			n++
			if !hasErrors {
				t.Errorf("a 422 at offset %d has no Errors", lit.Pos())
			}
		}
		return true
	})
	if n < 20 {
		t.Fatalf("found only %d 422 literals; the parse missed the table", n)
	}
}
