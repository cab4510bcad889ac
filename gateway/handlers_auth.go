package gateway

import (
	"context"
	"errors"
	"fmt"

	"github.com/samagate/samagate/auth"
	"github.com/samagate/samagate/chat"
	"github.com/samagate/samagate/protocol"
)

// handleConnect binds the socket with an access token from POST /login:
// {token, device_id} -> {"success":true}.
func (g *Gateway) handleConnect(ctx context.Context, s *Socket, c call) ([]byte, error) {
	var prm struct {
		Token    string              `json:"token"`
		DeviceID protocol.FlexString `json:"device_id"`
		// Since (samagate, additive) asks for a replay of every event after
		// this position: {"catch_up":{"until":..}} follows the replayed ones.
		Since *string `json:"since"`
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	dev, err := protocol.DeviceID(prm.DeviceID)
	if err != nil {
		return nil, err
	}
	if prm.Token == "" {
		return nil, protocol.FieldRequired("token")
	}
	p, err := g.accounts.Authenticate(ctx, prm.Token, dev)
	if err != nil {
		return nil, err
	}
	var (
		replayCtx context.Context
		gen       uint64
	)
	if prm.Since != nil {
		replayCtx, gen = s.startReplay() // events released from now on come from the replay
	}
	err = s.bind(ctx, p)
	if err == nil {
		err = g.stillLive(ctx, s, p)
	}
	if err != nil {
		if prm.Since != nil {
			s.goLive(gen, nil)
		}
		return nil, err
	}
	if prm.Since != nil {
		since := *prm.Since
		c.after(func() {
			g.replays.Go(func() { g.replay(replayCtx, gen, s, chat.Actor{UserID: p.UserID, OrgID: p.OrgID}, since) })
		})
	}
	return c.respond(protocol.F("success", true))
}

// stillLive unbinds s again when p's session ended between its check and
// the bind: the end was announced while the socket was not yet there to
// be closed. It costs a read only when some session of the user ended in
// that moment.
func (g *Gateway) stillLive(ctx context.Context, s *Socket, p *auth.Principal) error {
	live, err := g.accounts.StillLive(ctx, p)
	if err == nil && live {
		return nil
	}
	s.unbind(ctx)
	if err != nil {
		return fmt.Errorf("recheck session: %w", err)
	}
	return protocol.ErrTokenExpired
}

// handleUserLogin is SAMA's deprecated websocket login, password or token
// variant: -> {"user":{..},"token":"<access jwt>"}, and binds the socket.
func (g *Gateway) handleUserLogin(ctx context.Context, s *Socket, c call) ([]byte, error) {
	var prm struct {
		OrgID    string              `json:"organization_id"`
		Login    string              `json:"login"`
		UserID   protocol.FlexString `json:"userId"`
		Password string              `json:"password"`
		Token    string              `json:"token"`
		DeviceID protocol.FlexString `json:"device_id"`
		// SelectionToken completes a login that answered select_account.
		SelectionToken string `json:"selection_token"`
		// Code is the second factor (TOTP or recovery code) once enabled.
		Code string `json:"code"`
		// ExpiresIn asks for the token's lifetime, as on POST /login.
		ExpiresIn any `json:"expiresIn"`
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	dev, err := protocol.DeviceID(prm.DeviceID)
	if err != nil {
		return nil, err
	}
	if prm.ExpiresIn != nil {
		d, err := auth.ParseExpiresIn(prm.ExpiresIn)
		if err != nil {
			return nil, err
		}
		ctx = auth.WithAccessTTL(ctx, d)
	}
	var (
		p     *auth.Principal
		user  *auth.User
		token string
	)
	if prm.Token != "" {
		if p, err = g.accounts.Authenticate(ctx, prm.Token, dev); err != nil {
			return nil, err
		}
		if token, _, err = g.accounts.IssueAccess(ctx, *p); err != nil {
			return nil, err
		}
		if user, err = g.accounts.GetUser(ctx, p.OrgID, p.UserID); err != nil {
			return nil, err
		}
	} else {
		if ((prm.Login == "" && prm.UserID == "") || prm.Password == "") && prm.SelectionToken == "" {
			return nil, protocol.ErrLoginOrPasswordMiss
		}
		grant, err := g.accounts.LoginPassword(ctx, auth.PasswordLogin{
			OrgID:          prm.OrgID,
			Login:          prm.Login,
			UserID:         string(prm.UserID),
			Password:       prm.Password,
			DeviceID:       dev,
			Addr:           s.addrHost(),
			SelectionToken: prm.SelectionToken,
			Code:           prm.Code,
		})
		if sel, ok := errors.AsType[*auth.SelectAccountError](err); ok {
			// Several accounts match: the socket stays unauthenticated
			// until the client picks one (user_login {organization_id,
			// selection_token, device_id}).
			return c.respond(protocol.F("select_account", selectAccount(sel)), protocol.F("selection_token", sel.Token))
		}
		if err != nil {
			return nil, err
		}
		p, user, token = &grant.Principal, grant.User, grant.AccessToken
	}
	if err := s.bind(ctx, p); err != nil {
		return nil, err
	}
	return c.respond(protocol.F("user", user), protocol.F("token", token))
}

// handleUserCreate signs a user up on an unauthenticated socket; the socket
// stays unauthenticated (SAMA). Sign-ups are counted per client address.
// -> {"user":{..}}
func (g *Gateway) handleUserCreate(ctx context.Context, s *Socket, c call) ([]byte, error) {
	var prm struct {
		OrgID     string              `json:"organization_id"`
		Login     string              `json:"login"`
		Password  string              `json:"password"`
		Email     string              `json:"email"`
		Phone     protocol.FlexString `json:"phone"`
		FirstName string              `json:"first_name"`
		LastName  string              `json:"last_name"`
		DeviceID  protocol.FlexString `json:"device_id"`
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	u, err := g.accounts.CreateUser(ctx, auth.NewUser{
		OrgID:     prm.OrgID,
		Login:     prm.Login,
		Password:  prm.Password,
		Email:     prm.Email,
		Phone:     string(prm.Phone),
		FirstName: prm.FirstName,
		LastName:  prm.LastName,
		DeviceID:  string(prm.DeviceID),
		Addr:      s.addrHost(),
	})
	if err != nil {
		return nil, err
	}
	return c.respond(protocol.F("user", u))
}

// handleUserLogout ends this device's session everywhere: this socket stays
// open but unauthenticated; every other socket of (user, device), on any
// node, is closed with CloseLoggedOut. -> {"success":true}
// {scope:"all"} ends every session of the user the same way; {scope:"others"}
// every session but this socket's, which stays bound.
func (g *Gateway) handleUserLogout(ctx context.Context, s *Socket, c call) ([]byte, error) {
	var prm struct {
		Scope string `json:"scope"`
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	switch prm.Scope {
	case "", "device":
		s.unbind(ctx)
		if err := g.accounts.Logout(ctx, *c.p); err != nil {
			return nil, err
		}
	case "all", "others":
		keep := prm.Scope == "others"
		if !keep {
			s.unbind(ctx)
		}
		if _, err := g.accounts.LogoutEverywhere(ctx, *c.p, keep); err != nil {
			return nil, err
		}
	default:
		return nil, protocol.Invalid("scope", "'scope' must be one of device, all, others")
	}
	return c.respond(protocol.F("success", true))
}

// handleSessionList lists the user's live sessions, this one marked current.
func (g *Gateway) handleSessionList(ctx context.Context, _ *Socket, c call) ([]byte, error) {
	list, err := g.accounts.Sessions(ctx, *c.p)
	if err != nil {
		return nil, err
	}
	return c.respond(protocol.F("sessions", list))
}

// handleSessionRevoke ends one of the user's sessions {id}; revoking this
// socket's own session unbinds it first, so it stays open. -> {"success":true}
func (g *Gateway) handleSessionRevoke(ctx context.Context, s *Socket, c call) ([]byte, error) {
	var prm struct {
		ID protocol.FlexString `json:"id"`
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	if prm.ID == "" {
		return nil, protocol.Invalid("id", "'id' is required")
	}
	if string(prm.ID) == c.p.SessionID {
		s.unbind(ctx)
	}
	if err := g.accounts.RevokeSession(ctx, *c.p, string(prm.ID)); err != nil {
		return nil, err
	}
	return c.respond(protocol.F("success", true))
}

// addrHost is the client address the per-address throttles count by
// (logins, second-factor codes, sign-ups, current-password checks): the
// one the upgrade saw, so behind a trusted proxy it is the client's, not
// the proxy's.
func (s *Socket) addrHost() string { return s.clientAddr() }

// selectAccount is the wire form of a select_account answer.
func selectAccount(e *auth.SelectAccountError) map[string]any {
	return map[string]any{"accounts": e.Accounts, "last_login": e.LastLogin}
}
