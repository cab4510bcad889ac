package sqlrow

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// FoldFunc is the name of the SQL function both backends define as Fold:
// SQLite calls the Go function (store/sqlite registers it), PostgreSQL a
// translate() over FoldPairs (migration 0012). Logins, e-mails and phones
// are unique and looked up by it, so "Äsa" and "äSA", or "ΣΟΦΙΑ" and
// "σοφια", are the same login on both backends.
const FoldFunc = "samagate_fold"

// Fold is the case-insensitive key of a login, e-mail or phone: every rune
// is replaced by the lower case of its upper case (per rune, Unicode's simple
// mappings: 'Ä' and 'ä' -> 'ä', 'Σ', 'σ' and final 'ς' -> 'σ', 'ẞ' -> 'ß',
// 'K' (Kelvin) -> 'k', 'İ' and 'ı' -> 'i'). It is a rune-for-rune mapping
// on purpose: PostgreSQL can do exactly the same with translate(), whatever
// its locale, so both backends agree by construction. Consequences,
// documented: no length-changing folds ("straße" and "STRASSE" are two
// logins, "STRAẞE" is "straße"), and no Unicode normalization (a decomposed
// "A\u0308" is not "Ä"). The table is frozen (foldtable.go, Unicode 15.0.0),
// so a Go upgrade never changes a stored key.
func Fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return asciiLower(s)
	}
	return strings.Map(foldRune, s)
}

// asciiLower lowers A-Z, allocating only when something changes.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// foldRange maps Lo, Lo+Stride, ... Hi to themselves plus Delta.
type foldRange struct {
	Lo, Hi, Stride, Delta rune
}

// foldRune is Fold of one rune, by binary search over foldRanges.
func foldRune(r rune) rune {
	i := sort.Search(len(foldRanges), func(i int) bool { return foldRanges[i].Hi >= r })
	if i == len(foldRanges) {
		return r
	}
	g := foldRanges[i]
	if r < g.Lo || (g.Stride > 1 && (r-g.Lo)%g.Stride != 0) {
		return r
	}
	return r + g.Delta
}

// FoldPairs returns the runes Fold changes and what it changes them to,
// aligned rune by rune: PostgreSQL's translate(s, from, to) with them is
// Fold.
func FoldPairs() (from, to string) {
	var f, t strings.Builder
	for _, g := range foldRanges {
		step := max(g.Stride, 1)
		for r := g.Lo; r <= g.Hi; r += step {
			f.WriteRune(r)
			t.WriteRune(r + g.Delta)
		}
	}
	return f.String(), t.String()
}
