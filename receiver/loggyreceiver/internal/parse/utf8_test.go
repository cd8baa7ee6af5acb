package parse

import (
	"testing"
	"unicode/utf8"
)

func TestValidUTF8(t *testing.T) {
	cases := []struct {
		in, want string
		replaced bool
	}{
		{"", "", false},
		{"plain", "plain", false},
		{"héllo 世界 😀", "héllo 世界 😀", false},
		{"a\xffb", "a\uFFFDb", true},
		{"\xff\xfe", "\uFFFD\uFFFD", true},
		{"trunc \xe2\x82", "trunc \uFFFD\uFFFD", true},
		{"\xe2\x82\xac ok \xc3", "€ ok \uFFFD", true},
		{"surrogate \xed\xa0\x80", "surrogate \uFFFD\uFFFD\uFFFD", true},
		{"overlong \xc0\xaf", "overlong \uFFFD\uFFFD", true},
	}
	var dst []byte
	for _, c := range cases {
		out, replaced := ValidUTF8(dst, []byte(c.in))
		if string(out) != c.want || replaced != c.replaced {
			t.Errorf("ValidUTF8(%q) = %q, %v; want %q, %v", c.in, out, replaced, c.want, c.replaced)
		}
		// Reference: converting to runes replaces each invalid byte too.
		if ref := string([]rune(c.in)); string(out) != ref {
			t.Errorf("ValidUTF8(%q) = %q, []rune conversion gives %q", c.in, out, ref)
		}
		if !utf8.Valid(out) {
			t.Errorf("ValidUTF8(%q) returned invalid %q", c.in, out)
		}
		if replaced {
			dst = out
		}
	}
}

func TestValidUTF8Reuse(t *testing.T) {
	body := []byte("valid")
	if out, _ := ValidUTF8(nil, body); &out[0] != &body[0] {
		t.Fatal("valid input was copied")
	}
	dst := make([]byte, 0, 64)
	bad := []byte("bad \xff")
	if n := testing.AllocsPerRun(100, func() { dst, _ = ValidUTF8(dst, bad) }); n != 0 {
		t.Fatalf("%v allocations with a large enough dst", n)
	}
}
