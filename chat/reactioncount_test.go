package chat_test

import (
	"context"

	"github.com/samagate/samagate/store"
)

func (c *countingStore) MessageReactions(ctx context.Context, messageID string) (map[string][]string, error) {
	c.count("MessageReactions")
	return c.st.MessageReactions(ctx, messageID)
}

func (c *countingStore) UserReactions(ctx context.Context, messageID, userID string) ([]string, error) {
	c.count("UserReactions")
	return c.st.UserReactions(ctx, messageID, userID)
}

func (c *countingStore) ReactionSummaries(ctx context.Context, viewerID string, messageIDs []string) (map[string]store.ReactionSummary, error) {
	c.count("ReactionSummaries")
	return c.st.ReactionSummaries(ctx, viewerID, messageIDs)
}
