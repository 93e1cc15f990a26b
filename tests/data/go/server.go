package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
)

// Store keeps key-value pairs.
type Store interface {
	Get(key string) (string, bool)
	Set(key, value string)
}

// MemoryStore is a Store guarded by a mutex.
type MemoryStore struct {
	sync.Mutex
	data map[string]string
}

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{data: make(map[string]string)}
}

func (s *MemoryStore) Get(key string) (string, bool) {
	s.Lock()
	defer s.Unlock()
	value, ok := s.data[key]
	return value, ok
}

func (s *MemoryStore) Set(key, value string) {
	s.Lock()
	defer s.Unlock()
	s.data[key] = value
}

// Handler serves GET /kv?key=... from a Store.
func Handler(store Store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		value, ok := store.Get(r.URL.Query().Get("key"))
		if !ok {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		if err := json.NewEncoder(w).Encode(value); err != nil {
			fmt.Println(err)
		}
	}
}
