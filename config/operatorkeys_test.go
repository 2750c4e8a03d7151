package config

import (
	"strings"
	"testing"
)

// TICKETSYNC_OPERATOR_API_KEYS is a comma list: spaces and empty entries dropped; a key shorter
// than MinOperatorKeyLength (it opens every tenant) fails the start naming the variable.
func TestOperatorAPIKeys(t *testing.T) {
	clearEnv(t)
	a, b := strings.Repeat("a", MinOperatorKeyLength), strings.Repeat("b", 40)
	t.Setenv("TICKETSYNC_OPERATOR_API_KEYS", " "+a+" , ,"+b+",")
	env, err := LoadEnv()
	if err != nil {
		t.Fatal(err)
	}
	if len(env.OperatorAPIKeys) != 2 || env.OperatorAPIKeys[0] != a || env.OperatorAPIKeys[1] != b {
		t.Fatalf("keys %q", env.OperatorAPIKeys)
	}
	t.Setenv("TICKETSYNC_OPERATOR_API_KEYS", a+",short")
	_, err = LoadEnv()
	if err == nil || !strings.Contains(err.Error(), "TICKETSYNC_OPERATOR_API_KEYS") || !strings.Contains(err.Error(), "key 2") {
		t.Fatalf("a short operator key: %v", err)
	}
	if strings.Contains(err.Error(), a) {
		t.Fatal("the error repeats a key")
	}
}
