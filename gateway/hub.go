package gateway

import "sync"

// hub is this node's registry of sockets: every open socket, and the bound
// ones by user. A user's sockets are a short slice (a handful of devices and
// tabs), which keeps the per-socket memory low; each socket knows its device.
type hub struct {
	mu      sync.RWMutex
	sockets map[*Socket]struct{} // guarded by mu: every open socket
	users   map[string][]*Socket // guarded by mu: userID -> bound sockets
}

func newHub() *hub {
	return &hub{sockets: map[*Socket]struct{}{}, users: map[string][]*Socket{}}
}

// add registers an open socket.
func (h *hub) add(s *Socket) {
	h.mu.Lock()
	h.sockets[s] = struct{}{}
	h.mu.Unlock()
}

// remove forgets a closed socket, including its binding to userID ("" when unbound).
func (h *hub) remove(s *Socket, userID string) {
	h.mu.Lock()
	delete(h.sockets, s)
	h.unbindLocked(s, userID)
	h.mu.Unlock()
}

// bind lists s among userID's sockets.
func (h *hub) bind(s *Socket, userID string) {
	h.mu.Lock()
	h.users[userID] = append(h.users[userID], s)
	h.mu.Unlock()
}

// unbind removes s from userID's sockets.
func (h *hub) unbind(s *Socket, userID string) {
	h.mu.Lock()
	h.unbindLocked(s, userID)
	h.mu.Unlock()
}

func (h *hub) unbindLocked(s *Socket, userID string) {
	if userID == "" {
		return
	}
	list := h.users[userID]
	for i, x := range list {
		if x == s {
			list[i] = list[len(list)-1]
			list[len(list)-1] = nil
			list = list[:len(list)-1]
			break
		}
	}
	if len(list) == 0 {
		delete(h.users, userID)
		return
	}
	h.users[userID] = list
}

// userSockets returns a copy of userID's bound sockets.
func (h *hub) userSockets(userID string) []*Socket {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return append([]*Socket(nil), h.users[userID]...)
}

// each calls fn for a snapshot of every open socket, outside the lock.
func (h *hub) each(fn func(*Socket)) {
	h.mu.RLock()
	all := make([]*Socket, 0, len(h.sockets))
	for s := range h.sockets {
		all = append(all, s)
	}
	h.mu.RUnlock()
	for _, s := range all {
		fn(s)
	}
}

// count is the number of open sockets.
func (h *hub) count() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.sockets)
}
