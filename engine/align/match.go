package align

import (
	"strings"
	"unicode"
)

// Keyword matching (issue 4, weak spot 11): the original tested `priority in text`
// on raw lowercase strings, so "cost" matched "costume" and "speed" matched
// "speedometer". We match on whole words instead:
//
//   - Text is split into words at every character that is not a letter or digit
//     (so `_`, `-`, `/`, spaces and punctuation all separate words: "time_to_market",
//     "time-to-market" and "time to market" are the same three words) and at a
//     lower→upper case change ("timeToMarket" → time, to, market).
//   - Words are compared case-insensitively after a light plural fold: a trailing
//     "ies" becomes "y" (capabilities → capability) and a trailing "s" is dropped
//     when the word is longer than 3 letters and does not end in "ss" or "us"
//     (costs → cost, features → feature; "process", "status", "bus" stay).
//     The fold is applied to both sides, so it can only make singular and plural
//     forms meet; it never lets a word match a longer, different word.
//   - A multi-word priority matches when its words occur contiguously, in order,
//     in the text ("time to market" matches the attribute "time_to_market_weeks").
//   - A priority with no words (empty or punctuation only) matches nothing.

// words splits s into folded, lowercase words.
func words(s string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, fold(strings.ToLower(string(cur))))
			cur = cur[:0]
		}
	}
	var prev rune
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			flush()
			prev = 0
			continue
		}
		if unicode.IsUpper(r) && prev != 0 && unicode.IsLower(prev) {
			flush()
		}
		cur = append(cur, r)
		prev = r
	}
	flush()
	return out
}

// fold maps simple English plurals onto their singular.
func fold(w string) string {
	n := len(w)
	switch {
	case n > 4 && strings.HasSuffix(w, "ies"):
		return w[:n-3] + "y"
	case n > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us"):
		return w[:n-1]
	}
	return w
}

// containsSeq reports whether needle occurs contiguously in hay. An empty needle
// matches nothing (an empty priority is not evidence of anything).
func containsSeq(hay, needle []string) bool {
	if len(needle) == 0 || len(needle) > len(hay) {
		return false
	}
outer:
	for i := 0; i+len(needle) <= len(hay); i++ {
		for j, w := range needle {
			if hay[i+j] != w {
				continue outer
			}
		}
		return true
	}
	return false
}

// Matches reports whether the phrase occurs in text on word boundaries (see above).
func Matches(text, phrase string) bool {
	return containsSeq(words(text), words(phrase))
}
