package wire

import (
	"encoding/json"
	"sync"
	"sync/atomic"
)

// Method names, namespaces and versions repeat on every message of a
// service: decoding them through a bounded intern table spares a string
// allocation per field and message. The table keeps at most internMax
// distinct strings of at most internLen bytes, never evicting, so a peer
// sending ever new names costs at most that much memory; past it, strings
// are allocated as before.
const (
	internMax = 4096
	internLen = 128
)

var (
	internMu  sync.RWMutex
	internTab = map[string]string{}
	internN   atomic.Int32
)

// internString decodes the JSON string raw as decodeString does, interning
// a plain one.
func internString(raw json.RawMessage) (string, error) {
	n := len(raw)
	if n < 2 || n-2 > internLen || raw[0] != '"' || raw[n-1] != '"' || !plainString(raw[1:n-1]) {
		return decodeString(raw)
	}
	b := raw[1 : n-1]
	internMu.RLock()
	s, ok := internTab[string(b)] // no copy for the lookup
	internMu.RUnlock()
	if ok {
		return s, nil
	}
	s = string(b)
	if internN.Load() < internMax {
		internMu.Lock()
		if _, dup := internTab[s]; !dup && len(internTab) < internMax {
			internTab[s] = s
			internN.Store(int32(len(internTab)))
		}
		internMu.Unlock()
	}
	return s, nil
}

// optInternString is optString through the intern table.
func optInternString(f *fields, key string) (string, error) {
	raw, ok := f.get(key)
	if !ok || isNull(raw) {
		return "", nil
	}
	s, err := internString(raw)
	if err != nil {
		return "", malformed("%q must be a string or null, got %s", key, clip(raw))
	}
	return s, nil
}
