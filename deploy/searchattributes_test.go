package deploy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/ticketsync/ticketsync/ticket"
	"go.temporal.io/sdk/temporal"
)

// The workflow package is cheap to import (the SDK, not the Temporal server), so this file
// checks the setup script against the keys the Ticket workflow really upserts.

func TestSearchAttributesMatchWorkflow(t *testing.T) {
	keys := []temporal.SearchAttributeKey{
		ticket.SATenant, ticket.SAConnection, ticket.SAExternalID,
		ticket.SARemoteID, ticket.SAStatus, ticket.SANeedsAttention,
	}
	want := map[string]string{}
	for _, k := range keys {
		want[k.GetName()] = k.GetValueType().String() // "Keyword", "Bool"
	}
	if got := setupSearchAttributes(t); !reflect.DeepEqual(got, want) {
		t.Errorf("deploy/%s registers %v; the workflow uses %v", temporalSetup, got, want)
	}
	if !reflect.DeepEqual(want, expectedSearchAttributes) {
		t.Errorf("expectedSearchAttributes %v is out of date: the workflow uses %v", expectedSearchAttributes, want)
	}
}

// TestNoUnregisteredSearchAttributeKeys finds every temporal.NewSearchAttributeKey…("Name") in
// the source of the packages that define or upsert them (ticket, workflows), so a key added
// there without a line in the setup script (the workflow would fail on its first upsert in the
// compose stack) fails here.
func TestNoUnregisteredSearchAttributeKeys(t *testing.T) {
	var files []string
	for _, dir := range []string{"ticket", "workflows"} {
		fs, err := filepath.Glob(filepath.Join(repoRoot, dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, fs...)
	}
	found := map[string]string{}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 1 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || !strings.HasPrefix(sel.Sel.Name, "NewSearchAttributeKey") {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: %s with a non-literal name", fset.Position(call.Pos()), sel.Sel.Name)
				return true
			}
			name, _ := strconv.Unquote(lit.Value)
			found[name] = strings.TrimPrefix(sel.Sel.Name, "NewSearchAttributeKey")
			return true
		})
	}
	registered := setupSearchAttributes(t)
	for name, typ := range found {
		if got, ok := registered[name]; !ok {
			t.Errorf("the code uses search attribute %s (%s), deploy/%s does not register it", name, typ, temporalSetup)
		} else if got != typ {
			t.Errorf("search attribute %s: the code uses %s, deploy/%s registers %s", name, typ, temporalSetup, got)
		}
	}
	if len(found) == 0 {
		t.Errorf("no NewSearchAttributeKey… calls found in ticket/ or workflows/")
	}
}
