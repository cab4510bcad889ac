package gateway

// LocalUsers is the number of users with at least one authenticated socket
// on this node (Online counts the sockets). The admin API's server-stats
// reports it.
func (g *Gateway) LocalUsers() int {
	g.hub.mu.RLock()
	defer g.hub.mu.RUnlock()
	return len(g.hub.users)
}
