package connectors_test

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// The engine's packages must not know any vendor: connectors/ is the one place that maps a
// kind to a vendor package (DESIGN.md §2).
func TestNoVendorPackageOutsideConnectors(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../starter", "../workflows", "../engine", "../activities").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	vendor := regexp.MustCompile(`/vendorapi/[a-z]+$`)
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/ticketsync/ticketsync/") && vendor.MatchString(pkg) {
			t.Errorf("%s is imported by starter, workflows, engine or activities: vendor packages belong behind connectors/", pkg)
		}
	}
}
