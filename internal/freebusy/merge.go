package freebusy

import (
	"cmp"
	"slices"
	"time"
)

type edge struct {
	at    int64
	r     rank
	delta int8
}

// merge splits the raw periods into elementary intervals at every start and end, gives each interval the
// strongest type of the periods covering it, and joins neighbouring intervals of the same type. The result
// is sorted, and its periods neither overlap nor touch unless their types differ.
func merge(raws []raw) []Period {
	if len(raws) == 0 {
		return nil
	}
	edges := make([]edge, 0, 2*len(raws))
	for _, p := range raws {
		edges = append(edges, edge{p.s, p.r, 1}, edge{p.e, p.r, -1})
	}
	slices.SortFunc(edges, func(a, b edge) int { return cmp.Compare(a.at, b.at) })

	type span struct {
		s, e int64
		r    rank
	}
	var out []span
	var active [numRanks]int
	for i := 0; i < len(edges); {
		at := edges[i].at
		for ; i < len(edges) && edges[i].at == at; i++ {
			active[edges[i].r] += int(edges[i].delta)
		}
		if i == len(edges) {
			break
		}
		r := rank(-1)
		for k := numRanks - 1; k >= 0; k-- {
			if active[k] > 0 {
				r = k
				break
			}
		}
		if r < 0 {
			continue
		}
		next := edges[i].at
		if n := len(out); n > 0 && out[n-1].r == r && out[n-1].e == at {
			out[n-1].e = next
		} else {
			out = append(out, span{at, next, r})
		}
	}
	periods := make([]Period, len(out))
	for i, p := range out {
		periods[i] = Period{Start: time.Unix(p.s, 0).UTC(), End: time.Unix(p.e, 0).UTC(), Type: rankTypes[p.r]}
	}
	return periods
}
