package chat_test

import (
	"context"
)

func (c *countingStore) MemberCounts(ctx context.Context, ids []string) (map[string]int, error) {
	c.count("MemberCounts")
	return c.st.MemberCounts(ctx, ids)
}

func (c *countingStore) ConversationAdmins(ctx context.Context, orgID, userID string, ids []string) (map[string][]string, error) {
	c.count("ConversationAdmins")
	return c.st.ConversationAdmins(ctx, orgID, userID, ids)
}
