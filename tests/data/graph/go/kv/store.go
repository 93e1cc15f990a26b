package kv

// Store keeps values in memory.
type Store struct {
	data map[string]string
}

func NewStore() *Store {
	return &Store{data: map[string]string{}}
}

func (s *Store) Get(key string) string {
	return s.data[normalize(key)]
}

func (s *Store) Put(key, value string) {
	s.data[normalize(key)] = value
}
