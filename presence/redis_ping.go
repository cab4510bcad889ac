package presence

import (
	"context"
	"fmt"
)

// Ping checks that Redis answers (on a Redis Cluster, one of its nodes),
// for the admin API's server-stats.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis ping: %w", err)
	}
	return nil
}
