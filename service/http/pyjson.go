package http

// pyJSONError locates the first syntax error in src the way Python's json.loads (3.11, C scanner)
// reports it: the position counted in characters (code points) and Python's message. FastAPI puts
// that position into the 422's loc ["body", pos] (docs/api.md#errors), so clients that point at the offending
// character see the same place Python showed them. ok=false means Python would have accepted src
// (NaN/Infinity literals, huge numbers, deep nesting): the caller then falls back to its own error.
func pyJSONError(src []rune) (pos int, msg string, ok bool) {
	p := pyScanner{s: src}
	defer func() {
		if v := recover(); v != nil {
			e, isErr := v.(pyErr)
			if !isErr {
				panic(v)
			}
			pos, msg, ok = e.pos, e.msg, e.pos >= 0
		}
	}()
	i := p.ws(0)
	i = p.value(i, 0)
	i = p.ws(i)
	if i != len(src) {
		return i, "Extra data", true
	}
	return 0, "", false
}

type pyErr struct {
	pos int
	msg string
}

type pyScanner struct{ s []rune }

// pyMaxDepth keeps the locator's recursion bounded on hostile input; the parser has already
// refused such bodies, so stopping here just means "no Python-style position".
const pyMaxDepth = 10000

func (p *pyScanner) fail(pos int, msg string) { panic(pyErr{pos, msg}) }

func (p *pyScanner) ws(i int) int {
	for i < len(p.s) && (p.s[i] == ' ' || p.s[i] == '\t' || p.s[i] == '\n' || p.s[i] == '\r') {
		i++
	}
	return i
}

func (p *pyScanner) has(i int, lit string) bool {
	r := []rune(lit)
	if i+len(r) > len(p.s) {
		return false
	}
	for k, c := range r {
		if p.s[i+k] != c {
			return false
		}
	}
	return true
}

// value scans one value starting exactly at i (no leading whitespace) and returns the index after it.
func (p *pyScanner) value(i, depth int) int {
	if depth > pyMaxDepth {
		panic(pyErr{-1, ""})
	}
	if i >= len(p.s) {
		p.fail(i, "Expecting value")
	}
	switch c := p.s[i]; {
	case c == '"':
		return p.str(i + 1)
	case c == '{':
		return p.object(i+1, depth)
	case c == '[':
		return p.array(i+1, depth)
	case c == 'n' && p.has(i, "null"):
		return i + 4
	case c == 't' && p.has(i, "true"):
		return i + 4
	case c == 'f' && p.has(i, "false"):
		return i + 5
	case c == 'N' && p.has(i, "NaN"):
		return i + 3
	case c == 'I' && p.has(i, "Infinity"):
		return i + 8
	case c == '-' && p.has(i, "-Infinity"):
		return i + 9
	}
	return p.number(i)
}

func digit(c rune) bool { return c >= '0' && c <= '9' }

func (p *pyScanner) number(start int) int {
	i, n := start, len(p.s)
	if i < n && p.s[i] == '-' {
		i++
	}
	switch {
	case i < n && p.s[i] >= '1' && p.s[i] <= '9':
		for i++; i < n && digit(p.s[i]); i++ {
		}
	case i < n && p.s[i] == '0':
		i++
	default:
		p.fail(start, "Expecting value")
	}
	if i+1 < n && p.s[i] == '.' && digit(p.s[i+1]) {
		for i += 2; i < n && digit(p.s[i]); i++ {
		}
	}
	if i < n && (p.s[i] == 'e' || p.s[i] == 'E') {
		e := i
		i++
		if i < n && (p.s[i] == '+' || p.s[i] == '-') {
			i++
		}
		d := i
		for i < n && digit(p.s[i]) {
			i++
		}
		if i == d {
			i = e // no exponent digits: the number ends before the 'e'
		}
	}
	return i
}

func hexDigit(c rune) bool {
	return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// str scans a string whose opening quote is at begin-1.
func (p *pyScanner) str(i int) int {
	begin, n := i-1, len(p.s)
	for {
		if i >= n {
			p.fail(begin, "Unterminated string starting at")
		}
		c := p.s[i]
		switch {
		case c == '"':
			return i + 1
		case c < 0x20:
			p.fail(i, "Invalid control character at")
		case c != '\\':
			i++
			continue
		}
		i++ // past the backslash
		if i >= n {
			p.fail(begin, "Unterminated string starting at")
		}
		if p.s[i] != 'u' {
			switch p.s[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
				continue
			}
			p.fail(i-1, "Invalid \\escape")
		}
		u := i
		if u+5 >= n {
			p.fail(u, "Invalid \\uXXXX escape")
		}
		var c16 rune
		for k := u + 1; k <= u+4; k++ {
			if !hexDigit(p.s[k]) {
				p.fail(u, "Invalid \\uXXXX escape")
			}
			c16 = c16<<4 | hexVal(p.s[k])
		}
		i = u + 5
		// A high surrogate followed by \u must be followed by four hex digits.
		if c16 >= 0xd800 && c16 <= 0xdbff && i+6 < n && p.s[i] == '\\' && p.s[i+1] == 'u' {
			for k := i + 2; k <= i+5; k++ {
				if !hexDigit(p.s[k]) {
					p.fail(i+1, "Invalid \\uXXXX escape")
				}
			}
			i += 6
		}
	}
}

func hexVal(c rune) rune {
	switch {
	case digit(c):
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func (p *pyScanner) object(i, depth int) int {
	n := len(p.s)
	i = p.ws(i)
	if i < n && p.s[i] == '}' {
		return i + 1
	}
	for {
		if i >= n || p.s[i] != '"' {
			p.fail(i, "Expecting property name enclosed in double quotes")
		}
		i = p.ws(p.str(i + 1))
		if i >= n || p.s[i] != ':' {
			p.fail(i, "Expecting ':' delimiter")
		}
		i = p.ws(p.value(p.ws(i+1), depth+1))
		if i < n && p.s[i] == '}' {
			return i + 1
		}
		if i >= n || p.s[i] != ',' {
			p.fail(i, "Expecting ',' delimiter")
		}
		i = p.ws(i + 1)
	}
}

func (p *pyScanner) array(i, depth int) int {
	n := len(p.s)
	i = p.ws(i)
	if i < n && p.s[i] == ']' {
		return i + 1
	}
	for {
		i = p.ws(p.value(i, depth+1))
		if i < n && p.s[i] == ']' {
			return i + 1
		}
		if i >= n || p.s[i] != ',' {
			p.fail(i, "Expecting ',' delimiter")
		}
		i = p.ws(i + 1)
	}
}
