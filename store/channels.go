package store

import "context"

// Channels answers what channels (TypeChannel) need besides
// Conversations: how many subscribe, and who administers. A channel's
// subscribers are its participants (role RoleMember); its owner and admins
// are participants too, so every member count includes them.
type Channels interface {
	// MemberCounts maps each of ids that has members onto how many
	// (SAMA's subscribers_count); others are left out. One query, whatever
	// len(ids).
	MemberCounts(ctx context.Context, ids []string) (map[string]int, error)
	// ConversationAdmins maps each of ids that is a conversation of orgID
	// where userID is the owner or an admin onto the ids of its owner and
	// admins (user id descending); others are left out
	// (get_admins_by_cids). One query, whatever len(ids).
	ConversationAdmins(ctx context.Context, orgID, userID string, ids []string) (map[string][]string, error)
}
