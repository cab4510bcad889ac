package chat

import (
	"context"
	"fmt"
	"slices"

	"github.com/samagate/samagate/protocol"
)

// The block list. A block stops the pair's private chat both ways: neither
// can send into it (the commit checks the list, so a block made on any node
// stops the very next message), start typing in it, or create it again
// (422 Communication is not possible...). Group conversations they share
// are not affected (SAMA).

// BlockUsers adds ids to the caller's block list. Ids that are not users of
// the caller's organization are left out (SAMA); the caller's own id is 422.
func (s *Service) BlockUsers(ctx context.Context, a Actor, ids []string) error {
	ids, err := s.blockIDs(ids)
	if err != nil {
		return err
	}
	if slices.Contains(ids, a.UserID) {
		return protocol.Invalid("ids", "Can't block self user.")
	}
	users, err := s.st.UsersByIDs(ctx, a.OrgID, ids)
	if err != nil {
		return fmt.Errorf("load users: %w", err)
	}
	known := make([]string, 0, len(users))
	for _, u := range users {
		known = append(known, u.ID)
	}
	if err := s.st.Block(ctx, a.UserID, known, s.cfg.Now().UTC()); err != nil {
		return fmt.Errorf("block users: %w", err)
	}
	return nil
}

// UnblockUsers removes ids from the caller's block list (absent ones are
// no error).
func (s *Service) UnblockUsers(ctx context.Context, a Actor, ids []string) error {
	ids, err := s.blockIDs(ids)
	if err != nil {
		return err
	}
	if err := s.st.Unblock(ctx, a.UserID, ids); err != nil {
		return fmt.Errorf("unblock users: %w", err)
	}
	return nil
}

// BlockedUsers lists the caller's block list, oldest block first.
func (s *Service) BlockedUsers(ctx context.Context, a Actor) ([]string, error) {
	ids, err := s.st.BlockedUsers(ctx, a.UserID)
	if err != nil {
		return nil, fmt.Errorf("list blocked users: %w", err)
	}
	return ids, nil
}

// EnableBlockList turns the caller's list on or off; off, it blocks nothing
// but keeps its users.
func (s *Service) EnableBlockList(ctx context.Context, a Actor, enable bool) error {
	if err := s.st.SetBlockListEnabled(ctx, a.UserID, enable); err != nil {
		return fmt.Errorf("enable block list: %w", err)
	}
	return nil
}

// blockIDs checks the ids of block_user and unblock_user: at least one, no
// empty one (422 User ID missed.), at most MaxListIDs; duplicates go.
func (s *Service) blockIDs(ids []string) ([]string, error) {
	if len(ids) == 0 || slices.Contains(ids, "") {
		return nil, protocol.ErrUserIDMissed
	}
	if err := maxLength("ids", len(ids), s.cfg.MaxListIDs); err != nil {
		return nil, err
	}
	return slices.Compact(slices.Sorted(slices.Values(ids))), nil
}

// checkNotBlocked is 422 Communication is not possible... when a and b
// have a block between them.
func (s *Service) checkNotBlocked(ctx context.Context, a, b string) error {
	blocked, err := s.st.Blocked(ctx, a, b)
	if err != nil {
		return fmt.Errorf("check block list: %w", err)
	}
	if blocked {
		return protocol.ErrUserBlocked
	}
	return nil
}
