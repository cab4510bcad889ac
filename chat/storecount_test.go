package chat_test

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/samagate/samagate/store"
)

// countingStore is the real store with every call of chat's repositories
// (conversations, messages, users by id) counted by method, so a test can
// show what a request costs: each of these methods is one query (or, for
// ConversationStates, a fixed two). The other repositories pass through.
type countingStore struct {
	store.Users
	store.Organizations
	store.Sessions
	store.Keys
	store.SecondFactors
	store.Contacts
	// Blocks passes the block list through uncounted (issue 13).
	store.Blocks
	store.Files
	st store.Store

	mu    sync.Mutex
	calls []string
}

var _ store.Store = (*countingStore)(nil)

func newCountingStore(st store.Store) *countingStore {
	return &countingStore{Users: st, Organizations: st, Sessions: st, Keys: st, SecondFactors: st, Contacts: st, Blocks: st, Files: st, st: st}
}

func (c *countingStore) count(method string) {
	c.mu.Lock()
	c.calls = append(c.calls, method)
	c.mu.Unlock()
}

// during runs f and returns the calls it made.
func (c *countingStore) during(f func()) []string {
	c.mu.Lock()
	from := len(c.calls)
	c.mu.Unlock()
	f()
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.calls[from:])
}

// writesOutsideCommit are the methods that write without the group
// committer.
var writesOutsideCommit = []string{"CreateConversation", "UpdateConversation", "DeleteConversation", "AddParticipants",
	"SetRole", "RemoveParticipant", "HideMessages"}

func (c *countingStore) UsersByIDs(ctx context.Context, orgID string, ids []string) ([]store.User, error) {
	c.count("UsersByIDs")
	return c.st.UsersByIDs(ctx, orgID, ids)
}

func (c *countingStore) CreateConversation(ctx context.Context, cv *store.Conversation, ps []store.Participant) error {
	c.count("CreateConversation")
	return c.st.CreateConversation(ctx, cv, ps)
}

func (c *countingStore) Conversation(ctx context.Context, orgID, id string) (*store.Conversation, error) {
	c.count("Conversation")
	return c.st.Conversation(ctx, orgID, id)
}

func (c *countingStore) PrivateConversation(ctx context.Context, orgID, pairKey string) (*store.Conversation, error) {
	c.count("PrivateConversation")
	return c.st.PrivateConversation(ctx, orgID, pairKey)
}

func (c *countingStore) UpdateConversation(ctx context.Context, cv *store.Conversation) error {
	c.count("UpdateConversation")
	return c.st.UpdateConversation(ctx, cv)
}

func (c *countingStore) DeleteConversation(ctx context.Context, orgID, id string) error {
	c.count("DeleteConversation")
	return c.st.DeleteConversation(ctx, orgID, id)
}

func (c *countingStore) Participants(ctx context.Context, conversationID string) ([]store.Participant, error) {
	c.count("Participants")
	return c.st.Participants(ctx, conversationID)
}

func (c *countingStore) Participant(ctx context.Context, conversationID, userID string) (*store.Participant, error) {
	c.count("Participant")
	return c.st.Participant(ctx, conversationID, userID)
}

func (c *countingStore) AddParticipants(ctx context.Context, conversationID string, ps []store.Participant) error {
	c.count("AddParticipants")
	return c.st.AddParticipants(ctx, conversationID, ps)
}

func (c *countingStore) SetRole(ctx context.Context, conversationID, userID, role string) error {
	c.count("SetRole")
	return c.st.SetRole(ctx, conversationID, userID, role)
}

func (c *countingStore) RemoveParticipant(ctx context.Context, conversationID, userID string) (int, error) {
	c.count("RemoveParticipant")
	return c.st.RemoveParticipant(ctx, conversationID, userID)
}

func (c *countingStore) ConversationMembers(ctx context.Context, orgID, userID string, ids []string) (map[string][]string, error) {
	c.count("ConversationMembers")
	return c.st.ConversationMembers(ctx, orgID, userID, ids)
}

func (c *countingStore) SearchConversations(ctx context.Context, orgID, userID, prefix string, updatedAfter time.Time, limit int) ([]string, error) {
	c.count("SearchConversations")
	return c.st.SearchConversations(ctx, orgID, userID, prefix, updatedAfter, limit)
}

func (c *countingStore) UserConversations(ctx context.Context, orgID, userID string, q store.ConversationQuery) ([]store.Conversation, error) {
	c.count("UserConversations")
	return c.st.UserConversations(ctx, orgID, userID, q)
}

func (c *countingStore) Commit(ctx context.Context, batches []*store.Batch) (*store.Committed, error) {
	c.count("Commit")
	return c.st.Commit(ctx, batches)
}

func (c *countingStore) ResolveCommit(ctx context.Context, seq int64) (*store.Committed, error) {
	c.count("ResolveCommit")
	return c.st.ResolveCommit(ctx, seq)
}

func (c *countingStore) LastCommit(ctx context.Context) (int64, error) {
	c.count("LastCommit")
	return c.st.LastCommit(ctx)
}

func (c *countingStore) Message(ctx context.Context, conversationID, id string) (*store.Message, error) {
	c.count("Message")
	return c.st.Message(ctx, conversationID, id)
}

func (c *countingStore) MessageByClientID(ctx context.Context, conversationID, from, clientID string) (*store.Message, error) {
	c.count("MessageByClientID")
	return c.st.MessageByClientID(ctx, conversationID, from, clientID)
}

func (c *countingStore) ConversationMessages(ctx context.Context, conversationID string, q store.MessageQuery) ([]store.Message, error) {
	c.count("ConversationMessages")
	return c.st.ConversationMessages(ctx, conversationID, q)
}

func (c *countingStore) Events(ctx context.Context, q store.EventQuery) ([]store.Event, error) {
	c.count("Events")
	return c.st.Events(ctx, q)
}

func (c *countingStore) EventPos(ctx context.Context, id string) (int64, bool, error) {
	c.count("EventPos")
	return c.st.EventPos(ctx, id)
}

func (c *countingStore) MessageByID(ctx context.Context, id string) (*store.Message, error) {
	c.count("MessageByID")
	return c.st.MessageByID(ctx, id)
}

func (c *countingStore) HideMessages(ctx context.Context, conversationID, userID string, ids []string) error {
	c.count("HideMessages")
	return c.st.HideMessages(ctx, conversationID, userID, ids)
}

func (c *countingStore) LastMessage(ctx context.Context, conversationID string) (*store.Message, error) {
	c.count("LastMessage")
	return c.st.LastMessage(ctx, conversationID)
}

func (c *countingStore) ReadMark(ctx context.Context, conversationID, userID string) (int64, error) {
	c.count("ReadMark")
	return c.st.ReadMark(ctx, conversationID, userID)
}

func (c *countingStore) OthersReadMark(ctx context.Context, conversationID, userID string) (int64, error) {
	c.count("OthersReadMark")
	return c.st.OthersReadMark(ctx, conversationID, userID)
}

func (c *countingStore) UnreadFrom(ctx context.Context, conversationID, userID string, after int64, limit int) ([]store.Message, error) {
	c.count("UnreadFrom")
	return c.st.UnreadFrom(ctx, conversationID, userID, after, limit)
}

func (c *countingStore) CountUnread(ctx context.Context, conversationID, userID string, after int64) (int, error) {
	c.count("CountUnread")
	return c.st.CountUnread(ctx, conversationID, userID, after)
}

func (c *countingStore) ConversationStates(ctx context.Context, userID string, conversationIDs []string) (map[string]store.ConversationState, error) {
	c.count("ConversationStates")
	return c.st.ConversationStates(ctx, userID, conversationIDs)
}

func (c *countingStore) PruneEvents(ctx context.Context, before time.Time) (int, error) {
	c.count("PruneEvents")
	return c.st.PruneEvents(ctx, before)
}

func (c *countingStore) NodeNumber(ctx context.Context) (uint32, error) {
	c.count("NodeNumber")
	return c.st.NodeNumber(ctx)
}
