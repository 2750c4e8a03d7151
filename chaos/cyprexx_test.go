package chaos

import "testing"

// rotate arms one burst at a time, in turn, only on its seconds and only once the last was met.
func TestRotateArmsBurstsInTurn(t *testing.T) {
	var a, b, c, next int
	if i := rotate(1, 3, &next, &a, &b, &c); i != -1 || a+b+c != 0 {
		t.Fatalf("armed off its second: %d", i)
	}
	if i := rotate(3, 3, &next, &a, &b, &c); i != 0 || a != 1 {
		t.Fatalf("first: %d (a=%d)", i, a)
	}
	if i := rotate(6, 3, &next, &a, &b, &c); i != -1 || b != 0 {
		t.Fatalf("armed while the last one is pending: %d", i)
	}
	a = 0 // met
	for turn, want := range []int{1, 2, 0} {
		if i := rotate(9+3*turn, 3, &next, &a, &b, &c); i != want {
			t.Fatalf("turn %d: armed %d, want %d", turn, i, want)
		}
		a, b, c = 0, 0, 0
	}
}
