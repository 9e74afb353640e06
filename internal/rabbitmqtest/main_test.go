package rabbitmqtest

import (
	"os"
	"testing"

	"github.com/petrel-mqtt/petrel/internal/leaktest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	StopShared()
	os.Exit(leaktest.Finish(code))
}
