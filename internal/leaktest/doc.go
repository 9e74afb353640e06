// Package leaktest finds goroutines that a test leaves running.
//
// Check notes the goroutines alive when a test starts; when the test ends,
// it waits a little for those started since to exit, and fails the test
// with the stacks of any still running. Goroutines of the runtime and of
// the testing package are ignored.
//
// Check sees every goroutine of the process, so it does not suit tests
// that run in parallel with others (t.Parallel): the goroutines that those
// start would count as leaks.
//
// Use it first in a test, so that its check runs after the test's other
// cleanups:
//
//	func TestClient(t *testing.T) {
//		leaktest.Check(t)
//		b := testbroker.New(t)
//		...
//	}
package leaktest
