package adminapi

import (
	"context"
	"fmt"
	"net/http"

	"github.com/samagate/samagate/httpauth"
	"github.com/samagate/samagate/protocol"
	"github.com/samagate/samagate/store"
)

// onlineDefaultLimit is SAMA's default page of online_list.
const onlineDefaultLimit = 10

// onlineList is POST /admin/activity/online: the websocket's online_list
// for an organization, on every node. {organizationId?, count?, idsOnly?,
// limit? 1..100 (10), offset? >= 0} -> {"count":n} | {"users":["<id>",..]} |
// {"users":[<public user>,..]}, ids ascending. SAMA's userId (the user its
// fake session acted as) is accepted and not needed. Public user objects
// only: SAMA returned raw documents with password hashes.
func (a *API) onlineList(ctx context.Context, req httpauth.AdminRequest) (int, any, error) {
	var prm struct {
		OrgID   protocol.FlexString `json:"organizationId"`
		UserID  protocol.FlexString `json:"userId"`
		Count   bool                `json:"count"`
		IDsOnly bool                `json:"idsOnly"`
		Limit   *int                `json:"limit"`
		Offset  int                 `json:"offset"`
	}
	if err := decode(req.Body, &prm); err != nil {
		return 0, nil, err
	}
	limit := onlineDefaultLimit
	if prm.Limit != nil {
		limit = *prm.Limit
	}
	if limit < 1 || limit > 100 {
		return 0, nil, protocol.Invalid("limit", "'limit' must be between 1 and 100")
	}
	if prm.Offset < 0 {
		return 0, nil, protocol.Invalid("offset", "'offset' must be 0 or more")
	}
	org := string(prm.OrgID)
	if org == "" {
		org = store.DefaultOrg
	}
	ids, err := a.cfg.Presence.OnlineUsers(ctx, org)
	if err != nil {
		return 0, nil, fmt.Errorf("online users: %w", err)
	}
	if prm.Count {
		return http.StatusOK, map[string]int{"count": len(ids)}, nil
	}
	lo := min(prm.Offset, len(ids)) // offset+limit is never computed: no overflow
	page := ids[lo : lo+min(limit, len(ids)-lo)]
	if prm.IDsOnly {
		return http.StatusOK, map[string][]string{"users": page}, nil
	}
	users, err := a.cfg.Users.UsersByIDs(ctx, org, page)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"users": users}, nil
}
