// Package presence knows which devices of which users are online. Memory
// serves one node; Redis, with the same methods, serves a cluster (and
// carries the node bus). Both pass the one contract in presencetest.
package presence

import (
	"context"
	"sort"
	"sync"
)

// conn is one live socket of a user.
type conn struct{ org, id string }

// Memory is the single-node presence registry. A user is online while any of
// their sockets is registered, so "offline" fires only when the last one
// goes (SAMA sent it on any disconnect).
type Memory struct {
	mu    sync.Mutex
	users map[string][]conn // guarded by mu: userID -> live sockets
}

// NewMemory returns an empty registry.
func NewMemory() *Memory { return &Memory{users: map[string][]conn{}} }

// Add registers socket connID of userID in orgID (one node needs no device
// ids: nothing asks for them); first reports whether the user had no socket
// before. Adding the same socket twice is a no-op.
func (m *Memory) Add(_ context.Context, orgID, userID, _, connID string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	list := m.users[userID]
	for _, c := range list {
		if c.id == connID {
			return false, nil
		}
	}
	m.users[userID] = append(list, conn{org: orgID, id: connID})
	return len(list) == 0, nil
}

// Remove forgets socket connID; last reports whether it was the user's last.
// Removing an unknown socket is a no-op that reports false.
func (m *Memory) Remove(_ context.Context, userID, _, connID string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	list := m.users[userID]
	for i, c := range list {
		if c.id != connID {
			continue
		}
		list[i] = list[len(list)-1]
		list = list[:len(list)-1]
		if len(list) == 0 {
			delete(m.users, userID)
			return true, nil
		}
		m.users[userID] = list
		return false, nil
	}
	return false, nil
}

// Online reports whether userID has any live socket.
func (m *Memory) Online(_ context.Context, userID string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.users[userID]) > 0, nil
}

// OnlineUsers lists the users of orgID with a live socket, ids ascending
// (a stable order for paging).
func (m *Memory) OnlineUsers(_ context.Context, orgID string) ([]string, error) {
	m.mu.Lock()
	out := []string{}
	for uid, list := range m.users {
		if len(list) > 0 && list[0].org == orgID {
			out = append(out, uid)
		}
	}
	m.mu.Unlock()
	sort.Strings(out)
	return out, nil
}
