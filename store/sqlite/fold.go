package sqlite

import (
	"database/sql/driver"
	"fmt"

	"github.com/samagate/samagate/store/sqlrow"
	"modernc.org/sqlite"
)

// init registers samagate_fold (sqlrow.Fold) with the driver: the unique
// indexes of logins, e-mails and phones are built on it (migration 0012),
// so every connection must have it, and the driver offers registration only
// process-wide, like the driver itself. It is deterministic, as an index
// expression must be. A file written by another program without it cannot
// change users (SQLite answers "no such function").
func init() {
	sqlite.MustRegisterDeterministicScalarFunction(sqlrow.FoldFunc, 1, fold)
}

// fold is samagate_fold: text and blobs are folded, NULL stays NULL, a
// number is folded as its text (the columns are TEXT, so none is stored).
func fold(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	switch v := args[0].(type) {
	case nil:
		return nil, nil
	case string:
		return sqlrow.Fold(v), nil
	case []byte:
		return sqlrow.Fold(string(v)), nil
	default:
		return sqlrow.Fold(fmt.Sprint(v)), nil
	}
}
