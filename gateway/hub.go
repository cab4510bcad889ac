package gateway

import "sync"

// hub is this node's registry of sockets: every open socket, the bound ones
// by user, and how many each client address holds. A user's sockets are a
// short slice (a handful of devices and tabs), which keeps the per-socket
// memory low; each socket knows its device.
type hub struct {
	mu      sync.RWMutex
	sockets map[*Socket]struct{} // guarded by mu: every open socket
	users   map[string][]*Socket // guarded by mu: userID -> bound sockets
	addrs   map[string]*addrSlot // guarded by mu: client address -> its sockets
}

// addrSlot counts the open sockets of one client address; each socket
// points at its slot, which costs it one pointer.
type addrSlot struct {
	key string
	n   int // guarded by hub.mu
}

func newHub() *hub {
	return &hub{sockets: map[*Socket]struct{}{}, users: map[string][]*Socket{}, addrs: map[string]*addrSlot{}}
}

// add registers an open socket.
func (h *hub) add(s *Socket) {
	h.mu.Lock()
	h.sockets[s] = struct{}{}
	h.mu.Unlock()
}

// remove forgets a closed socket (already unbound) and frees its address
// slot.
func (h *hub) remove(s *Socket) {
	h.mu.Lock()
	delete(h.sockets, s)
	if a := s.addr; a != nil {
		h.releaseAddrLocked(a)
	}
	h.mu.Unlock()
}

// reserveAddr takes one socket slot of the client address key, unless it
// already holds max (max <= 0: no cap).
func (h *hub) reserveAddr(key string, max int) (*addrSlot, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.addrs[key]
	if a == nil {
		a = &addrSlot{key: key}
		h.addrs[key] = a
	}
	if max > 0 && a.n >= max {
		return nil, false
	}
	a.n++
	return a, true
}

// releaseAddr gives back a slot taken by reserveAddr.
func (h *hub) releaseAddr(a *addrSlot) {
	h.mu.Lock()
	h.releaseAddrLocked(a)
	h.mu.Unlock()
}

func (h *hub) releaseAddrLocked(a *addrSlot) {
	if a.n--; a.n <= 0 {
		delete(h.addrs, a.key)
	}
}

// bind lists s among userID's sockets, unless userID already has max
// (max <= 0: no cap).
func (h *hub) bind(s *Socket, userID string, max int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if max > 0 && len(h.users[userID]) >= max {
		return false
	}
	h.users[userID] = append(h.users[userID], s)
	return true
}

// full reports whether userID has max bound sockets (max <= 0: never).
func (h *hub) full(userID string, max int) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return max > 0 && len(h.users[userID]) >= max
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

// eachRecipient calls fn for every bound socket of each of userIDs, under
// the read lock, without copying the lists: the release of a delivery
// allocates nothing. fn must not block nor call into the hub.
func (h *hub) eachRecipient(userIDs []string, fn func(*Socket)) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, uid := range userIDs {
		for _, s := range h.users[uid] {
			fn(s)
		}
	}
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
