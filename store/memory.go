package store

import (
	"slices"
	"sync"
)

// Memory is a Store in memory: for tests, and to carry a session from one
// Client to the next within a process. Its methods are safe for concurrent
// use. The zero value is not usable; call NewMemory.
type Memory struct {
	mu sync.Mutex // guards st
	st state
}

// NewMemory returns an empty Memory store.
func NewMemory() *Memory { return &Memory{st: newState()} }

// Load implements Store. The packets returned are copies.
func (m *Memory) Load() (out []Outgoing, inbound []uint16, lastSeq uint64, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out, inbound, lastSeq = m.st.load()
	return out, inbound, lastSeq, nil
}

// PutOutgoing implements Store. It refuses, with an *OpError, a Seq of 0
// or one already in the store, a QoS other than 1 or 2, a packet
// identifier of 0, a QoS 1 message marked Released, and an empty Packet
// (unless Released). Concurrent callers may put their Seqs out of order;
// Load sorts them.
func (m *Memory) PutOutgoing(o Outgoing) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.st.checkPut(o); err != nil {
		return err
	}
	if !o.Released {
		o.Packet = slices.Clone(o.Packet)
	}
	m.st.put(o)
	return nil
}

// Release implements Store. It returns an *OpError matching ErrNotFound if
// no message has seq, and one matching ErrInvalid if that message is QoS
// 1. Releasing a released message does nothing.
func (m *Memory) Release(seq uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.st.checkRelease(seq); err != nil {
		return err
	}
	m.st.release(seq)
	return nil
}

// DeleteOutgoing implements Store. Deleting a seq the store does not hold
// does nothing.
func (m *Memory) DeleteOutgoing(seq uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.remove(seq)
	return nil
}

// PutInbound implements Store. It refuses the identifier 0.
func (m *Memory) PutInbound(id uint16) error {
	if err := checkInbound("PutInbound", id); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.putInbound(id)
	return nil
}

// DeleteInbound implements Store.
func (m *Memory) DeleteInbound(id uint16) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.removeInbound(id)
	return nil
}

// Reset implements Store.
func (m *Memory) Reset() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.reset()
	return nil
}

// Close does nothing: the store keeps its contents and stays usable, so
// that the next Client can take the session over.
func (m *Memory) Close() error { return nil }
