package broker

import (
	"os"
	"testing"

	"github.com/petrel-mqtt/petrel/internal/leaktest"
)

func TestMain(m *testing.M) { os.Exit(leaktest.Run(m)) }
