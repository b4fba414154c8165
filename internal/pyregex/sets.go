package pyregex

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode"
)

// runeRange is lo..hi inclusive.
type runeRange struct{ lo, hi rune }

// runeSet is a sorted list of disjoint, non-adjacent ranges.
type runeSet []runeRange

const maxRune = unicode.MaxRune

// pgNever is a Postgres atom that matches nothing: the next character is
// both U+0001 and U+0002.
const pgNever = `(?:(?=\u0001)\u0002)`

func single(r rune) runeSet { return runeSet{{r, r}} }

func anyRune() runeSet { return runeSet{{0, maxRune}} }

func normalize(rs []runeRange) runeSet {
	if len(rs) == 0 {
		return nil
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].lo < rs[j].lo })
	out := runeSet{rs[0]}
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		if r.lo <= last.hi+1 {
			if r.hi > last.hi {
				last.hi = r.hi
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

func (s runeSet) union(t runeSet) runeSet {
	all := make([]runeRange, 0, len(s)+len(t))
	all = append(all, s...)
	all = append(all, t...)
	return normalize(all)
}

func (s runeSet) complement() runeSet {
	var out runeSet
	next := rune(0)
	for _, r := range s {
		if r.lo > next {
			out = append(out, runeRange{next, r.lo - 1})
		}
		next = r.hi + 1
	}
	if next <= maxRune {
		out = append(out, runeRange{next, maxRune})
	}
	return out
}

func (s runeSet) subtract(t runeSet) runeSet {
	return s.intersect(t.complement())
}

func (s runeSet) intersect(t runeSet) runeSet {
	var out runeSet
	i, j := 0, 0
	for i < len(s) && j < len(t) {
		lo, hi := max(s[i].lo, t[j].lo), min(s[i].hi, t[j].hi)
		if lo <= hi {
			out = append(out, runeRange{lo, hi})
		}
		if s[i].hi < t[j].hi {
			i++
		} else {
			j++
		}
	}
	return out
}

func (s runeSet) contains(r rune) bool {
	i := sort.Search(len(s), func(i int) bool { return s[i].hi >= r })
	return i < len(s) && s[i].lo <= r
}

// cased is every rune whose simple case folding orbit is not itself.
// It is built on first use (a pass over every code point, some
// milliseconds), not when a binary starts.
var cased = sync.OnceValue(func() []rune {
	var out []rune
	for r := rune(0); r <= maxRune; r++ {
		if unicode.SimpleFold(r) != r {
			out = append(out, r)
		}
	}
	return out
})

// foldClosure adds the case variants of every rune in s.
func (s runeSet) foldClosure() runeSet {
	var add []runeRange
	for _, r := range cased() {
		if !s.contains(r) {
			continue
		}
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			add = append(add, runeRange{f, f})
		}
	}
	if len(add) == 0 {
		return s
	}
	return s.union(add)
}

func fromTable(t *unicode.RangeTable) runeSet {
	var rs []runeRange
	for _, r := range t.R16 {
		for c := rune(r.Lo); c <= rune(r.Hi); c += rune(r.Stride) {
			rs = append(rs, runeRange{c, c})
			if r.Stride == 1 {
				rs[len(rs)-1].hi = rune(r.Hi)
				break
			}
		}
	}
	for _, r := range t.R32 {
		for c := rune(r.Lo); c <= rune(r.Hi); c += rune(r.Stride) {
			rs = append(rs, runeRange{c, c})
			if r.Stride == 1 {
				rs[len(rs)-1].hi = rune(r.Hi)
				break
			}
		}
	}
	return normalize(rs)
}

var (
	asciiDigit = runeSet{{'0', '9'}}
	asciiWord  = runeSet{{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}}
	asciiSpace = runeSet{{'\t', '\r'}, {' ', ' '}}
	uniDigit   = fromTable(unicode.Nd)
	uniWord    = fromTable(unicode.L).union(fromTable(unicode.N)).union(single('_'))
	// Python's str.isspace, which \s matches.
	uniSpace = normalize([]runeRange{{'\t', '\r'}, {0x1c, 0x20}, {0x85, 0x85}, {0xa0, 0xa0}, {0x1680, 0x1680},
		{0x2000, 0x200a}, {0x2028, 0x2029}, {0x202f, 0x202f}, {0x205f, 0x205f}, {0x3000, 0x3000}})
)

func isLetter(r rune) bool { return unicode.IsLetter(r) }
func isDigit(r rune) bool  { return unicode.Is(unicode.Nd, r) }

// shorthand is \d \D \s \S \w \W under f (ASCII or Unicode).
func shorthand(c rune, f flags) runeSet {
	var s runeSet
	switch c {
	case 'd', 'D':
		s = uniDigit
		if f.a {
			s = asciiDigit
		}
	case 's', 'S':
		s = uniSpace
		if f.a {
			s = asciiSpace
		}
	case 'w', 'W':
		s = uniWord
		if f.a {
			s = asciiWord
		}
	}
	if c == 'D' || c == 'S' || c == 'W' {
		return s.complement()
	}
	return s
}

// withoutSurrogates drops what no UTF-8 text can hold.
func (s runeSet) withoutSurrogates() runeSet {
	return s.subtract(runeSet{{0xD800, 0xDFFF}})
}

func (s runeSet) goClass() string {
	s = s.withoutSurrogates()
	if len(s) == 0 {
		return `[^\x00-\x{10ffff}]`
	}
	if len(s) == 1 && s[0].lo == s[0].hi {
		return goRune(s[0].lo)
	}
	var b strings.Builder
	b.WriteByte('[')
	for _, r := range s {
		b.WriteString(goClassRune(r.lo))
		if r.hi != r.lo {
			b.WriteByte('-')
			b.WriteString(goClassRune(r.hi))
		}
	}
	b.WriteByte(']')
	return b.String()
}

func goClassRune(c rune) string {
	if c < 128 && isAlnum(c) {
		return string(c)
	}
	return fmt.Sprintf(`\x{%x}`, c)
}

// pgClass is s as a Postgres bracket expression. Postgres text has no NUL,
// so the set starts at U+0001 at the lowest.
func (s runeSet) pgClass() string {
	s = s.withoutSurrogates().subtract(single(0))
	if len(s) == 0 {
		return pgNever
	}
	if len(s) == 1 && s[0].lo == s[0].hi {
		return pgRune(s[0].lo)
	}
	var b strings.Builder
	b.WriteByte('[')
	for _, r := range s {
		b.WriteString(pgClassRune(r.lo))
		if r.hi != r.lo {
			b.WriteByte('-')
			b.WriteString(pgClassRune(r.hi))
		}
	}
	b.WriteByte(']')
	return b.String()
}

func pgClassRune(c rune) string {
	if c < 128 && isAlnum(c) {
		return string(c)
	}
	if c > 0xFFFF {
		return fmt.Sprintf(`\U%08X`, c)
	}
	return fmt.Sprintf(`\u%04X`, c)
}
