package sqlite_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/samagate/samagate/store/sqlite"
	"github.com/samagate/samagate/store/storetest"
)

// BenchmarkHotStatements runs each store call of the message and connect
// paths unprepared (SQLite parses the statement on every call, as before
// issue 11) and prepared (once per connection), in the same run, against
// one file:
//
//	go test -run '^$' -bench HotStatements -benchmem -count 3 ./store/sqlite/
func BenchmarkHotStatements(b *testing.B) {
	db := open(b, filepath.Join(b.TempDir(), "hot.db"))
	b.Cleanup(func() { _ = db.Close() })
	for _, h := range storetest.HotPaths(b, db) {
		for _, prepared := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/prepared=%v", h.Name, prepared), func(b *testing.B) {
				sqlite.SetPrepared(db, prepared)
				if err := h.Run(0); err != nil { // warm: the statement prepared on a connection
					b.Fatal(err)
				}
				b.ResetTimer()
				for i := range b.N {
					if err := h.Run(i); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
