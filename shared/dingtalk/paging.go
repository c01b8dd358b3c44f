package dingtalk

import (
	"context"
	"fmt"
	"iter"
)

// checkPage validates an offset page request for the call named name:
// size 0 means max.
func checkPage(name string, offset, size, max int) (int, error) {
	if size == 0 {
		size = max
	}
	if size < 1 || size > max || offset < 0 {
		return 0, fmt.Errorf("dingtalk: %s needs offset ≥ 0 and size within 1..%d", name, max)
	}
	return size, nil
}

// getOffsetPage fetches one page of a listing that takes {offset, size} and
// answers {"result": P}.
func getOffsetPage[P any](ctx context.Context, c *Client, ep endpoint, name string, offset, size, max int) (*P, error) {
	size, err := checkPage(name, offset, size, max)
	if err != nil {
		return nil, err
	}
	return result[P](ctx, c, ep, nil, map[string]int{"offset": offset, "size": size})
}

// listExt fetches one page of an external-contact listing, which answers
// {"results": [...]} with no has_more.
func listExt[T any](ctx context.Context, c *Client, ep endpoint, offset, size int) ([]T, error) {
	size, err := checkPage("paging", offset, size, MaxExtPageSize)
	if err != nil {
		return nil, err
	}
	var out struct {
		Results []T `json:"results"`
	}
	if err := c.oapi(ctx, ep, nil, map[string]int{"offset": offset, "size": size}, &out); err != nil {
		return nil, err
	}
	return out.Results, nil
}

// pages yields every item of a paged listing. fetch returns the page at
// cursor, the cursor of the page after it and whether there is one; the
// stop rule is each listing's own (has_more, a short page, a cursor that
// does not advance), so fetch decides it. An error is yielded once and
// ends the listing.
func pages[T any, C any](first C, fetch func(cursor C) (items []T, next C, more bool, err error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		cursor := first
		for {
			items, next, more, err := fetch(cursor)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if !more {
				return
			}
			cursor = next
		}
	}
}

// offsetPages pages by offset while DingTalk says has_more; an empty page
// also ends the listing, so a server that keeps saying has_more without
// giving anything cannot loop it forever.
func offsetPages[T any](fetch func(offset int) (items []T, hasMore bool, err error)) iter.Seq2[T, error] {
	return pages(0, func(offset int) ([]T, int, bool, error) {
		items, hasMore, err := fetch(offset)
		return items, offset + len(items), hasMore && len(items) > 0, err
	})
}

// shortPages pages by offset until a page shorter than MaxExtPageSize,
// for listings that give no has_more.
func shortPages[T any](fetch func(offset int) ([]T, error)) iter.Seq2[T, error] {
	return pages(0, func(offset int) ([]T, int, bool, error) {
		items, err := fetch(offset)
		return items, offset + len(items), len(items) >= MaxExtPageSize, err
	})
}

// walkDepartments yields every department below root (not root itself),
// breadth first, asking children for each department's direct children.
// A department seen twice (a cycle in bad data) is skipped; an error is
// yielded once and ends the walk.
func walkDepartments[T any](root int64, children func(id int64) ([]T, error), idOf func(T) int64) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		seen := map[int64]bool{root: true}
		queue := []int64{root}
		for len(queue) > 0 {
			id := queue[0]
			queue = queue[1:]
			kids, err := children(id)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, k := range kids {
				kid := idOf(k)
				if seen[kid] {
					continue
				}
				seen[kid] = true
				if !yield(k, nil) {
					return
				}
				queue = append(queue, kid)
			}
		}
	}
}
