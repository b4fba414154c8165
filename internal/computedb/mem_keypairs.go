package computedb

import (
	"context"
	"fmt"
	"slices"
)

// memKeyPairs is the in-memory store's key pairs, by user then name.
type memKeyPairs struct {
	next   int64
	byUser map[string]map[string]*KeyPair
}

// CreateKeyPair implements KeyPairStore.
func (m *Mem) CreateKeyPair(_ context.Context, kp KeyPair, maxPerUser int) (KeyPair, error) {
	if kp.Type == "" {
		kp.Type = "ssh"
	}
	if err := checkKeyPair(kp); err != nil {
		return KeyPair{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.kp.byUser == nil {
		m.kp.byUser = map[string]map[string]*KeyPair{}
	}
	mine := m.kp.byUser[kp.UserID]
	if _, ok := mine[kp.Name]; ok {
		return KeyPair{}, fmt.Errorf("%w: key pair %s exists", ErrConflict, kp.Name)
	}
	if maxPerUser >= 0 && len(mine) >= maxPerUser {
		return KeyPair{}, ErrKeyPairLimit
	}
	if mine == nil {
		mine = map[string]*KeyPair{}
		m.kp.byUser[kp.UserID] = mine
	}
	m.kp.next++
	kp.ID, kp.CreatedAt, kp.UpdatedAt = m.kp.next, m.now(), nil
	cp := kp
	mine[kp.Name] = &cp
	return kp, nil
}

// GetKeyPair implements KeyPairStore.
func (m *Mem) GetKeyPair(_ context.Context, userID, name string) (KeyPair, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if kp, ok := m.kp.byUser[userID][name]; ok {
		return *kp, nil
	}
	return KeyPair{}, ErrNotFound
}

// ListKeyPairs implements KeyPairStore.
func (m *Mem) ListKeyPairs(_ context.Context, userID string, limit int, marker string) ([]KeyPair, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	mine := m.kp.byUser[userID]
	var after int64
	if marker != "" {
		mk, ok := mine[marker]
		if !ok {
			return nil, fmt.Errorf("marker %s: %w", marker, ErrNotFound)
		}
		after = mk.ID
	}
	out := []KeyPair{}
	for _, kp := range mine {
		if kp.ID > after {
			out = append(out, *kp)
		}
	}
	slices.SortFunc(out, func(a, b KeyPair) int { return int(a.ID - b.ID) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// DeleteKeyPair implements KeyPairStore.
func (m *Mem) DeleteKeyPair(_ context.Context, userID, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.kp.byUser[userID][name]; !ok {
		return ErrNotFound
	}
	delete(m.kp.byUser[userID], name)
	return nil
}
