package main

import (
	"os"
	"runtime"
	"testing"
)

// TestClientProcs: petrel pub and sub run on one P unless GOMAXPROCS is
// set; the other commands keep every core.
func TestClientProcs(t *testing.T) {
	old := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(old)
	for _, tt := range []struct {
		args []string
		env  string // "" leaves GOMAXPROCS unset
		want int
	}{
		{[]string{"pub", "-t", "x"}, "", 1},
		{[]string{"sub", "-t", "x"}, "", 1},
		{[]string{"pub"}, "3", 3},
		{[]string{"broker"}, "", 3},
		{[]string{"bench"}, "", 3},
		{nil, "", 3},
	} {
		runtime.GOMAXPROCS(3)
		if tt.env != "" {
			t.Setenv("GOMAXPROCS", tt.env)
		} else if v, ok := os.LookupEnv("GOMAXPROCS"); ok {
			t.Setenv("GOMAXPROCS", v) // restored after the test
			os.Unsetenv("GOMAXPROCS")
		}
		clientProcs(tt.args)
		if got := runtime.GOMAXPROCS(0); got != tt.want {
			t.Errorf("clientProcs(%q) with GOMAXPROCS=%q: GOMAXPROCS %d, want %d", tt.args, tt.env, got, tt.want)
		}
		os.Unsetenv("GOMAXPROCS")
	}
}
