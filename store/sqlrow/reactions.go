package sqlrow

import (
	"slices"

	"github.com/samagate/samagate/store"
)

// ReactionUsers reads rows of (reaction, user_id) in order into a map of
// reaction to users (never nil).
func ReactionUsers(rows Rows) (map[string][]string, error) {
	out := map[string][]string{}
	for rows.Next() {
		var reaction, user string
		if err := rows.Scan(&reaction, &user); err != nil {
			return nil, err
		}
		out[reaction] = append(out[reaction], user)
	}
	return out, rows.Err()
}

// Strings reads rows of one text column (never nil).
func Strings(rows Rows) ([]string, error) {
	out := []string{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// ReactionSummaries reads rows of (message_id, reaction, count, own) into
// summaries, each Own sorted (never nil).
func ReactionSummaries(rows Rows) (map[string]store.ReactionSummary, error) {
	out := map[string]store.ReactionSummary{}
	for rows.Next() {
		var mid, reaction string
		var n int
		var own bool
		if err := rows.Scan(&mid, &reaction, &n, &own); err != nil {
			return nil, err
		}
		s, ok := out[mid]
		if !ok {
			s = store.ReactionSummary{Own: []string{}, Total: map[string]int{}}
		}
		s.Total[reaction] = n
		if own {
			s.Own = append(s.Own, reaction)
		}
		out[mid] = s
	}
	for _, s := range out {
		slices.Sort(s.Own)
	}
	return out, rows.Err()
}
