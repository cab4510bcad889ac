package gateway_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
	"github.com/samagate/samagate/app"
	"github.com/samagate/samagate/auth"
	"github.com/samagate/samagate/protocol"
)

// expectExpiry waits for c to be closed with CloseSessionExpired and
// returns how long after at that happened.
func (c *client) expectExpiry(at time.Time) time.Duration {
	c.t.Helper()
	for {
		_, err := c.read(10 * time.Second)
		if err == nil {
			continue
		}
		late := time.Since(at)
		if got := websocket.CloseStatus(err); got != protocol.CloseSessionExpired {
			c.t.Fatalf("close: got %d (%v), want %d (session expired)", got, err, protocol.CloseSessionExpired)
		}
		return late
	}
}

// TestSessionExpiryClosesSocket: a live socket does not outlive its
// session. When the session expires the socket is unbound (its user's
// followers learn it went offline) and closed with 4103, whether the
// expiry comes before the ping loop's next pass (armed at connect) or
// after it (armed by a later pass).
func TestSessionExpiryClosesSocket(t *testing.T) {
	for _, tc := range []struct {
		name string
		ttl  time.Duration
		ping time.Duration
	}{
		{"armed at connect", 2 * time.Second, 0},
		{"armed by the ping loop", 2500 * time.Millisecond, 300 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := startNode(t, func(c *app.Config) {
				c.Auth.RefreshTTL = tc.ttl
				c.Gateway.PingInterval = tc.ping
			})
			a, b := n.signUp(t, "alice"), n.signUp(t, "bob")
			loggedIn := time.Now()
			ca := n.connected(t, a, "d")
			time.Sleep(800 * time.Millisecond) // bob's session, as short, must outlive alice's
			cb := n.connected(t, b, "d")
			cb.roundTrip(fmt.Sprintf(`{"request":{"user_last_activity_subscribe":{"id":%q},"id":"s"}}`, a.id),
				fmt.Sprintf(`{"response":{"id":"s","last_activity":{%q:0}}}`, a.id))
			ca.roundTrip(`{"request":{"ping":{},"id":"p"}}`, `{"response":{"id":"p","pong":{}}}`)
			late := ca.expectExpiry(loggedIn.Add(tc.ttl))
			cb.expect(fmt.Sprintf(`{"last_activity":{%q:"<number>"}}`, a.id))
			t.Logf("session of %s: socket closed with 4103 at most %s after its expiry", tc.ttl, late.Round(time.Millisecond))
			if late > 2*time.Second {
				t.Fatalf("closed %s after the expiry, want within 2s", late)
			}
		})
	}
}

// TestExternalTokenExpiryClosesSocket: a socket bound with another
// issuer's token has no session to revoke; it is closed with 4103 when the
// token's exp passes.
func TestExternalTokenExpiryClosesSocket(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(auth.JWKSet{Keys: []auth.JWK{{Kty: "OKP", Crv: "Ed25519", Kid: "k1", Use: "sig", Alg: "EdDSA",
		X: base64.RawURLEncoding.EncodeToString(pub)}}})
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwks)
	}))
	t.Cleanup(idp.Close)
	n := startNode(t, func(c *app.Config) {
		c.ExternalJWT = auth.ExternalIssuer{JWKSURL: idp.URL, Issuer: "idp", Audience: "samagate-ext", Client: idp.Client()}
	})
	a := n.signUp(t, "alice")
	exp := time.Now().Add(2 * time.Second).Truncate(time.Second)
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{"iss": "idp", "aud": "samagate-ext", "sub": a.id,
		"iat": time.Now().Unix(), "exp": exp.Unix()})
	tok.Header["kid"] = "k1"
	signed, err := tok.SignedString(priv)
	if err != nil {
		t.Fatal(err)
	}
	c := n.connectWith(t, signed, "d")
	c.roundTrip(`{"request":{"ping":{},"id":"p"}}`, `{"response":{"id":"p","pong":{}}}`)
	late := c.expectExpiry(exp)
	t.Logf("external token: socket closed with 4103 %s after its exp", late.Round(time.Millisecond))
	if late > 2*time.Second {
		t.Fatalf("closed %s after the exp, want within 2s", late)
	}
	// The same token cannot bind again.
	n.dial(t).roundTrip(fmt.Sprintf(`{"request":{"connect":{"token":%q,"device_id":"d"},"id":"cn"}}`, signed),
		`{"response":{"id":"cn","error":{"...":true,"status":422,"message":"The token has expired."}}}`)
}
