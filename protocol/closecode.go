package protocol

// Close codes samagate sends in websocket close frames. SAMA clients reconnect
// on any close, so the codes are for integrators, logs and metrics: each is
// either reconnect-allowed (the client should reconnect and send connect again)
// or terminal (reconnecting with the same credentials will fail).
//
// Ranges:
//
//	1000-1015  standard websocket codes (RFC 6455)
//	4000-4099  reconnect allowed: the condition was the server's or transient
//	4100-4199  terminal: the session or the account is gone; log in again
//
// Reasons are short (well under the 123-byte limit of a close frame).
const (
	// CloseGoingAway: the server is shutting down; reconnect (to another node).
	CloseGoingAway = 1001
	// CloseProtocolError: the peer broke the websocket framing rules.
	CloseProtocolError = 1002
	// ClosePolicy: the peer kept sending frames that could not be processed.
	ClosePolicy = 1008
	// CloseTooBig: a frame was larger than the read limit.
	CloseTooBig = 1009
	// CloseServiceRestart: graceful shutdown of this node; reconnect at once.
	CloseServiceRestart = 1012

	// CloseSlowConsumer: the socket did not read its events fast enough and its
	// bounded send queue overflowed. Reconnect and catch up. If the peer's
	// receive window is full the frame cannot arrive and the peer sees 1006.
	CloseSlowConsumer = 4000
	// CloseKeepaliveTimeout: nothing was read from the peer within the
	// keep-alive window (it did not answer pings).
	CloseKeepaliveTimeout = 4001
	// CloseFlood: the peer sent frames faster than they could be handled and
	// its bound of unanswered frames (count or bytes) was exceeded.
	CloseFlood = 4002

	// CloseLoggedOut: the session of this socket was ended by a logout
	// (user_logout on another socket, or HTTP POST /logout).
	CloseLoggedOut = 4100
	// CloseUserDeleted: the account was deleted.
	CloseUserDeleted = 4101
	// CloseSessionRevoked: the session was revoked (token reuse detected, or
	// revoked by the user from another session).
	CloseSessionRevoked = 4102
	// CloseSessionExpired: the socket's session (or, for an external
	// issuer's token, the token) expired; log in again.
	CloseSessionExpired = 4103
)

// CloseReason returns the short reason text sent with a samagate close code.
func CloseReason(code int) string {
	switch code {
	case CloseGoingAway:
		return "going away"
	case CloseProtocolError:
		return "protocol error"
	case ClosePolicy:
		return "too many bad frames"
	case CloseTooBig:
		return "frame too large"
	case CloseServiceRestart:
		return "server restart, reconnect"
	case CloseSlowConsumer:
		return "slow consumer, reconnect"
	case CloseKeepaliveTimeout:
		return "keep-alive timeout"
	case CloseFlood:
		return "too many frames in flight"
	case CloseLoggedOut:
		return "logged out"
	case CloseUserDeleted:
		return "user deleted"
	case CloseSessionRevoked:
		return "session revoked"
	case CloseSessionExpired:
		return "session expired, log in again"
	}
	return ""
}

// CloseReconnects reports whether a client may reconnect with the same
// credentials after the close code.
func CloseReconnects(code int) bool {
	return code < 4100 || code > 4199
}
