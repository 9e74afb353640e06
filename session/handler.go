package session

// Handler handles the application messages of a subscription.
//
// The client never calls a handler on the goroutine that reads from the
// network: one dispatcher calls the handlers, one message at a time, in the
// order the messages arrived. A handler that takes long holds up the
// messages after it, and in the end the reading (see Config.MessageQueue),
// but never keepalive.
type Handler interface {
	// HandleMessage handles one message. It may keep m, but must not
	// modify it (see Message).
	HandleMessage(m *Message)
}

// HandlerFunc adapts an ordinary function to a Handler.
type HandlerFunc func(m *Message)

// HandleMessage calls f(m).
func (f HandlerFunc) HandleMessage(m *Message) { f(m) }
