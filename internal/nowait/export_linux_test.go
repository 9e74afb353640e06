//go:build linux && (amd64 || arm64)

package nowait

// Polling reports whether a poller runs.
func Polling() bool {
	pollMu.Lock()
	defer pollMu.Unlock()
	return current != nil
}

// FailDups makes the next n duplications of the epoll descriptor fail.
func FailDups(n int) {
	pollMu.Lock()
	defer pollMu.Unlock()
	failDups = n
}

// Dups returns how many duplications of the epoll descriptor were made.
func Dups() int {
	pollMu.Lock()
	defer pollMu.Unlock()
	return dups
}
