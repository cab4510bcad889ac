package main

import (
	"bytes"
	"strconv"
	"time"
)

// Phases of a rate's run, as stamped into each message.
const (
	phaseWarmup   = 'w'
	phaseMeasured = 'm'
)

// A stamp is "<unix ns sent>:<rate index>:<phase>:", put at the start of
// each message's body and id, so a receiver learns the send time, the rate
// and the phase of a delivery (and a publisher those of an ask) by reading
// a few digits of the frame instead of decoding it or sharing a map.
func appendStamp(b []byte, sent time.Time, rate int, phase byte) []byte {
	b = strconv.AppendInt(b, sent.UnixNano(), 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(rate), 10)
	return append(b, ':', phase, ':')
}

// parseStamp reads a stamp at the start of b.
func parseStamp(b []byte) (sentNs int64, rate int, phase byte, ok bool) {
	i := 0
	num := func() (int64, bool) {
		var n int64
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' && i-start < 19 {
			n = n*10 + int64(b[i]-'0')
			i++
		}
		if i == start || i >= len(b) || b[i] != ':' {
			return 0, false
		}
		i++
		return n, true
	}
	sentNs, ok1 := num()
	r, ok2 := num()
	if !ok1 || !ok2 || r > 1<<20 || i+1 >= len(b) || b[i+1] != ':' || (b[i] != phaseWarmup && b[i] != phaseMeasured) {
		return 0, 0, 0, false
	}
	return sentNs, int(r), b[i], true
}

// Frame prefixes and keys the readers look for.
const (
	prefixMessage = `{"message":`
	prefixAsk     = `{"ask":`
	keyBody       = `"body":"`
	keyMid        = `"mid":"`
	keyID         = `"id":"`
	keyError      = `"error"`
)

// hasPrefix is bytes.HasPrefix for a string prefix, without a copy.
func hasPrefix(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == prefix
}

// stampAfter finds key in frame and parses the stamp after it.
func stampAfter(frame []byte, key string) (sentNs int64, rate int, phase byte, ok bool) {
	i := bytes.Index(frame, []byte(key))
	if i < 0 {
		return 0, 0, 0, false
	}
	return parseStamp(frame[i+len(key):])
}

// appendMessageFrame appends a message frame of publisher pub:
// {"message":{"id":"<stamp><pub>.<seq>","cid":"<cid>","body":"<stamp>xxx…"}}
// with a body of bodyLen bytes (at least the stamp).
func appendMessageFrame(b []byte, stamp []byte, pub int, seq int64, cid string, bodyLen int) []byte {
	b = append(b, `{"message":{"id":"`...)
	b = append(b, stamp...)
	b = strconv.AppendInt(b, int64(pub), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `","cid":"`...)
	b = append(b, cid...)
	b = append(b, `","body":"`...)
	b = append(b, stamp...)
	for range bodyLen - len(stamp) {
		b = append(b, 'x')
	}
	return append(b, `"}}`...)
}
