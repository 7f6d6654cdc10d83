// Package jsonesc appends JSON string literals escaped exactly as encoding/json or log/slog's
// JSONHandler escape them: the service's own encoders must produce the same bytes as the
// libraries they replace on hot paths (service/http's response encoder, service/jsonlog).
package jsonesc

import "unicode/utf8"

// Style is one library's escaping.
type Style struct {
	safe    [256]bool // bytes copied unchanged (ASCII only; multi-byte runes are checked apart)
	shortBF bool      // \b and \f rather than \u0008 and \u000c
}

// JSON is encoding/json's (json.Marshal: HTML characters escaped, \b and \f short).
var JSON = style(true, true)

// Slog is log/slog JSONHandler's (HTML characters kept, \b and \f as \u00XX).
var Slog = style(false, false)

func style(html, shortBF bool) *Style {
	st := &Style{shortBF: shortBF}
	for c := 0x20; c < utf8.RuneSelf; c++ {
		st.safe[c] = c != '"' && c != '\\' && !(html && (c == '<' || c == '>' || c == '&'))
	}
	return st
}

const hexDigits = "0123456789abcdef"

// Append appends s quoted: the quote, the backslash and control characters escaped (\n, \r, \t
// short), \ufffd for each invalid UTF-8 byte, U+2028 and U+2029 escaped, and per the style the
// HTML characters <, > and & and the short \b, \f.
func (st *Style) Append(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if st.safe[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch {
			case c == '\\' || c == '"':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b' && st.shortBF:
				b = append(b, '\\', 'b')
			case c == '\f' && st.shortBF:
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
