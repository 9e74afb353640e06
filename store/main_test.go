package store_test

import (
	"os"
	"testing"

	"github.com/petrel-mqtt/petrel/internal/leaktest"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		os.Exit(crashChild(dir))
	}
	os.Exit(leaktest.Run(m))
}
