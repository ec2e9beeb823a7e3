package ndb

import (
	"container/list"
	"sync"
)

type cacheKey struct {
	kind uint8 // cachePage or cacheBlock
	id   uint64
}

const (
	cachePage  = 1
	cacheBlock = 2
)

type cacheItem struct {
	key  cacheKey
	val  []byte
	size int
}

// lru is a size-bounded least-recently-used cache, safe for concurrent use.
// Cached values are never modified after insertion.
type lru struct {
	mu    sync.Mutex
	max   int
	used  int
	ll    *list.List
	items map[cacheKey]*list.Element
}

func newLRU(max int) *lru {
	return &lru{max: max, ll: list.New(), items: make(map[cacheKey]*list.Element)}
}

func (c *lru) get(k cacheKey) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(*cacheItem).val, true
	}
	return nil, false
}

func (c *lru) put(k cacheKey, v []byte) {
	size := len(v) + 64
	if size > c.max/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		c.ll.MoveToFront(e)
		return
	}
	c.items[k] = c.ll.PushFront(&cacheItem{key: k, val: v, size: size})
	c.used += size
	for c.used > c.max {
		e := c.ll.Back()
		it := e.Value.(*cacheItem)
		c.ll.Remove(e)
		delete(c.items, it.key)
		c.used -= it.size
	}
}
