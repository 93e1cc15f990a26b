package kv

import "strings"

func normalize(key string) string {
	return strings.ToLower(key)
}

func Copy(from *Store) *Store {
	to := NewStore()
	to.Put("k", from.Get("k"))
	return to
}
