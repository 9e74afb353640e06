package session

// Helpers of the package's tests, for those of session_test
// (broker_test.go).
var (
	FaultInjection = faultInjection
	FaultProxy     = faultProxy
	ProxiedConfig  = proxiedConfig
	SplitHostPort  = splitHostPort
	StatsClient    = statsClient
	StatsTraffic   = statsTraffic
)
