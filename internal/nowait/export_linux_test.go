//go:build linux && (amd64 || arm64)

package nowait

// Polling reports whether a poller runs.
func Polling() bool {
	pollMu.Lock()
	defer pollMu.Unlock()
	return current != nil
}
