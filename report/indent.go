package report

// appendIndented appends compact JSON src (as json.Marshal writes it: no
// space outside strings) to dst indented exactly as json.Indent would,
// with prefix and indent: about three times faster than json.Indent's
// byte-by-byte scanner, for the hundreds of thousands of connections of a
// large report. Bytes inside strings are copied as they are.
func appendIndented(dst, src []byte, prefix, indent string) []byte {
	depth := 0
	open := false // just after '{' or '[': the newline waits, so that {} and [] stay as they are
	for i := 0; i < len(src); i++ {
		c := src[i]
		if open && c != '}' && c != ']' {
			open = false
			depth++
			dst = newline(dst, prefix, indent, depth)
		}
		switch c {
		case '"':
			j := stringEnd(src, i)
			dst = append(dst, src[i:j]...)
			i = j - 1
		case '{', '[':
			open = true
			dst = append(dst, c)
		case ',':
			dst = newline(append(dst, c), prefix, indent, depth)
		case ':':
			dst = append(dst, c, ' ')
		case '}', ']':
			if open {
				open = false
			} else {
				depth--
				dst = newline(dst, prefix, indent, depth)
			}
			dst = append(dst, c)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// stringEnd returns the index just past the string that starts at src[i]
// (a quote), or len(src) if it does not end.
func stringEnd(src []byte, i int) int {
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(src)
}

func newline(dst []byte, prefix, indent string, depth int) []byte {
	dst = append(dst, '\n')
	dst = append(dst, prefix...)
	for range depth {
		dst = append(dst, indent...)
	}
	return dst
}
