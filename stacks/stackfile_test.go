package stacks

import (
	"strings"
	"testing"
)

func TestParseStackFile(t *testing.T) {
	src := `# header
encryptionsalt: v1:abc
config:
  docker:host: unix:///var/run/docker.sock   # trailing comment
  isl:replicas: 3
  isl:publicHost: "isl.example.com"
  isl:imageRegistry: ''
  isl:adminAllowCidrs: '10.0.0.0/8,192.168.0.0/16'
  isl:redisPassword:
    secure: v1:AAAABBBB
  isl:secretKey: {secure: v1:CCCC}
  isl:note: "a # not a comment"
`
	f, err := ParseStackFile([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"docker:host": "unix:///var/run/docker.sock", "isl:replicas": "3", "isl:publicHost": "isl.example.com",
		"isl:imageRegistry": "", "isl:adminAllowCidrs": "10.0.0.0/8,192.168.0.0/16", "isl:note": "a # not a comment",
		"isl:redisPassword": "[secret]", "isl:secretKey": "[secret]",
	}
	for k, v := range want {
		if got := f.Values[k]; got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if len(f.Values) != len(want) {
		t.Errorf("got %d keys, want %d: %v", len(f.Values), len(want), f.Values)
	}
	if !f.Secrets["isl:redisPassword"] || !f.Secrets["isl:secretKey"] || f.Secrets["isl:replicas"] {
		t.Errorf("secrets = %v", f.Secrets)
	}
}

func TestParseStackFileRejects(t *testing.T) {
	cases := map[string]string{
		"list":          "config:\n  isl:x:\n    - a\n",
		"nested map":    "config:\n  isl:x:\n    foo: bar\n",
		"no namespace":  "config:\n  replicas: 3\n",
		"duplicate":     "config:\n  isl:a: 1\n  isl:a: 2\n",
		"dangling key":  "config:\n  isl:a:\n",
		"flow list":     "config:\n  isl:a: [1, 2]\n",
		"not key value": "config:\n  just text\n",
	}
	for name, src := range cases {
		if _, err := ParseStackFile([]byte(src)); err == nil {
			t.Errorf("%s: accepted:\n%s", name, src)
		}
	}
}

func FuzzParseStackFile(f *testing.F) {
	f.Add("config:\n  isl:replicas: 3\n  isl:x:\n    secure: v1:a\n")
	f.Add("config:\n  isl:a: 'it''s'\n")
	f.Add("config:\n  isl:a: \"\\u0041\"\n")
	f.Fuzz(func(t *testing.T, s string) {
		sf, err := ParseStackFile([]byte(s))
		if err != nil {
			return
		}
		for k := range sf.Values {
			if !strings.Contains(k, ":") {
				t.Fatalf("key without namespace accepted: %q", k)
			}
		}
	})
}
