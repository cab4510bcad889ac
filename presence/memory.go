// Package presence knows which devices of which users are online. Memory
// serves one node; a Redis sibling with the same methods serves many (a later
// issue). Both pass the one contract in presencetest.
package presence

import (
	"context"
	"sort"
	"sync"
)

// conn is one live socket of a user.
type conn struct{ org, device, id string }

// Memory is the single-node presence registry. A user is online while any of
// their sockets is registered, so "offline" fires only when the last one
// goes (SAMA sent it on any disconnect).
type Memory struct {
	mu    sync.Mutex
	users map[string][]conn // guarded by mu: userID -> live sockets
}

// NewMemory returns an empty registry.
func NewMemory() *Memory { return &Memory{users: map[string][]conn{}} }

// Add registers socket connID of (userID, deviceID) in orgID; first reports
// whether the user had no socket before. Adding the same socket twice is a
// no-op.
func (m *Memory) Add(_ context.Context, orgID, userID, deviceID, connID string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	list := m.users[userID]
	for _, c := range list {
		if c.id == connID {
			return false, nil
		}
	}
	m.users[userID] = append(list, conn{org: orgID, device: deviceID, id: connID})
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

// Devices lists the distinct online devices of userID (empty, never nil).
func (m *Memory) Devices(_ context.Context, userID string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []string{}
	seen := map[string]bool{}
	for _, c := range m.users[userID] {
		if !seen[c.device] {
			seen[c.device] = true
			out = append(out, c.device)
		}
	}
	return out, nil
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

// OnlineCount is the number of users with a live socket.
func (m *Memory) OnlineCount(_ context.Context) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.users), nil
}
