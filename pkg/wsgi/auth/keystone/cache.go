package keystone

import (
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

// cacheKey is keystonemiddleware's: the token is never a key itself, only
// its SHA-256. The prefix keeps gonova's entries (JSON of Identity) apart
// from keystonemiddleware's own ("tokens/<sha256>") on a shared memcached.
func cacheKey(token string) string {
	const prefix = "gonova/authtoken/"
	sum := sha256.Sum256([]byte(token))
	var buf [len(prefix) + 2*sha256.Size]byte
	copy(buf[:], prefix)
	hex.Encode(buf[len(prefix):], sum[:])
	return string(buf[:])
}

// lru is a bounded in-process cache of validated tokens. Entries leave it
// when the cache time is over (checked on get), when the token expires
// (checked by the caller on every hit), or when it is full (least recently
// used first).
type lru struct {
	mu    sync.Mutex
	max   int
	ll    *list.List
	items map[string]*list.Element
}

type lruEntry struct {
	key      string
	id       *Identity
	deadline time.Time
}

func newLRU(max int) *lru {
	return &lru{max: max, ll: list.New(), items: make(map[string]*list.Element)}
}

func (c *lru) get(key string, now time.Time) (*Identity, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		return nil, false
	}
	ent := e.Value.(*lruEntry)
	if !now.Before(ent.deadline) {
		c.ll.Remove(e)
		delete(c.items, key)
		return nil, false
	}
	c.ll.MoveToFront(e)
	return ent.id, true
}

func (c *lru) add(key string, id *Identity, deadline time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.ll.MoveToFront(e)
		ent := e.Value.(*lruEntry)
		ent.id, ent.deadline = id, deadline
		return
	}
	c.items[key] = c.ll.PushFront(&lruEntry{key: key, id: id, deadline: deadline})
	for c.ll.Len() > c.max {
		old := c.ll.Back()
		c.ll.Remove(old)
		delete(c.items, old.Value.(*lruEntry).key)
	}
}

func (c *lru) remove(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.ll.Remove(e)
		delete(c.items, key)
	}
}

// shared is the memcached cache the API's processes share.
type shared struct {
	mc *memcache.Client
}

func newShared(servers []string, timeout time.Duration) *shared {
	mc := memcache.New(servers...)
	mc.Timeout = timeout
	mc.MaxIdleConns = 16
	return &shared{mc: mc}
}

// get returns the entry for key; a miss is (nil, nil), an unreadable entry
// or an unreachable memcached an error (the caller then asks Keystone).
func (s *shared) get(key string) (*Identity, error) {
	it, err := s.mc.Get(key)
	if errors.Is(err, memcache.ErrCacheMiss) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var id Identity
	if err := json.Unmarshal(it.Value, &id); err != nil {
		return nil, err
	}
	return &id, nil
}

func (s *shared) set(key string, id *Identity, ttl time.Duration) error {
	b, err := json.Marshal(id)
	if err != nil {
		return err
	}
	secs := int32(ttl / time.Second)
	if secs < 1 {
		secs = 1
	}
	return s.mc.Set(&memcache.Item{Key: key, Value: b, Expiration: secs})
}

func (s *shared) close() error { return s.mc.Close() }
