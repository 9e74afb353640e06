package nowait

import "errors"

// ErrWouldBlock is what Conn.TryRead returns when the connection has
// nothing to read yet.
var ErrWouldBlock = errors.New("nowait: nothing to read yet")
