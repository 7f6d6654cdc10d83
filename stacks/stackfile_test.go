package stacks

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// pulumiForms is testdata/pulumi-forms.yaml: a stack file in every form `pulumi config set` (and
// a hand edit Pulumi accepts) produces: quoted numbers and booleans, plain and quoted strings, both
// secret forms, a list (docker:sshOpts, which an ssh:// pilot host needs), an object with a nested
// secret, a key without namespace, block scalars, a date, and the top-level encryption salt.
// infra/deploy's TestPulumiLoadersAgree checks that Pulumi's own loader reads it the same way.
func pulumiForms(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "pulumi-forms.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseStackFileEveryPulumiForm(t *testing.T) {
	f, err := ParseStackFile([]byte(pulumiForms(t)))
	if err != nil {
		t.Fatal(err)
	}
	// The strings the Pulumi SDK hands the program for each of these (ctx.GetConfig).
	want := map[string]string{
		"docker:host":           "ssh://isl@pilot-host",
		"docker:sshOpts":        `["-i","/home/isl/.ssh/pilot_ed25519","-o","UserKnownHostsFile=/home/isl/.ssh/known_hosts"]`,
		"isl:replicas":          "3",
		"isl:httpPort":          "80",
		"isl:tls":               "true",
		"isl:protectData":       "false",
		"isl:replicaCpus":       "1", // unquoted 1.0 is a YAML float: Pulumi passes its JSON spelling
		"isl:replicaCpusQuoted": "1.0",
		"isl:publicHost":        "isl.example.com",
		"isl:imageRegistry":     "",
		"isl:adminAllowCidrs":   "10.0.0.0/8,192.168.0.0/16",
		"isl:redisPassword":     Masked,
		"isl:secretKey":         Masked,
		"isl:alerting":          Masked, // an object with a secret inside is shown masked as a whole
		"isl:labels":            `{"team":"isl","tier":"pilot"}`,
		"isl:logLevel":          "INFO",
		"isl:note":              "a # not a comment",
		"isl:motd":              "line one\nline two\n",
		"isl:date":              "2026-12-01 00:00:00 +0000 UTC", // what Pulumi's own decoding yields
	}
	if !reflect.DeepEqual(f.Values, want) {
		for k, v := range want {
			if f.Values[k] != v {
				t.Errorf("%s = %q, want %q", k, f.Values[k], v)
			}
		}
		for k := range f.Values {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected key %s", k)
			}
		}
	}
	for k, secret := range map[string]bool{"isl:redisPassword": true, "isl:secretKey": true, "isl:alerting": true, "isl:labels": false, "isl:replicas": false} {
		if f.Secrets[k] != secret {
			t.Errorf("Secrets[%s] = %v, want %v", k, f.Secrets[k], secret)
		}
	}
	for k, obj := range map[string]bool{"docker:sshOpts": true, "isl:labels": true, "isl:alerting": true, "isl:replicas": false, "isl:redisPassword": false} {
		if f.Objects[k] != obj {
			t.Errorf("Objects[%s] = %v, want %v", k, f.Objects[k], obj)
		}
	}
	var opts []string
	if err := json.Unmarshal([]byte(f.Values["docker:sshOpts"]), &opts); err != nil || len(opts) != 4 {
		t.Errorf("docker:sshOpts is not the JSON list Pulumi passes: %v %v", opts, err)
	}
	if f.EncryptionSalt != "v1:Xq0cmN0N0Yk=:v1:0x1n9sXRW+Hd4bX1:Y2F0YWxvZw==" {
		t.Errorf("encryptionsalt = %q", f.EncryptionSalt)
	}

	// Unchanged, the document re-encodes to the same values and keeps salt and comments.
	b, err := f.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseStackFile(b)
	if err != nil {
		t.Fatalf("re-parse: %v\n%s", err, b)
	}
	if !reflect.DeepEqual(again.Values, f.Values) || !reflect.DeepEqual(again.Secrets, f.Secrets) || again.EncryptionSalt != f.EncryptionSalt {
		t.Errorf("round trip changed the values:\n%s", b)
	}
	for _, keep := range []string{"# header comment", "# trailing comment", "secure: v1:AAAABBBB", "secretsprovider: passphrase"} {
		if !bytes.Contains(b, []byte(keep)) {
			t.Errorf("round trip lost %q:\n%s", keep, b)
		}
	}
}

func TestParseStackFileRejects(t *testing.T) {
	cases := map[string]string{
		"duplicate":            "config:\n  isl:a: 1\n  isl:a: 2\n",
		"duplicate via prefix": "config:\n  a: 1\n  isl:a: 2\n",
		"null value":           "config:\n  isl:a:\n",
		"config not a map":     "config:\n  - a\n",
		"not yaml":             "config:\n  isl:a: [1, 2\n",
		"top level list":       "- config\n",
		"tab indentation":      "config:\n\tisl:a: 1\n",
	}
	for name, src := range cases {
		if _, err := ParseStackFile([]byte(src)); err == nil {
			t.Errorf("%s: accepted:\n%s", name, src)
		}
	}
	for name, src := range map[string]string{"empty file": "", "salt only": "encryptionsalt: v1:abc\n", "empty config": "config:\n"} {
		f, err := ParseStackFile([]byte(src))
		if err != nil || len(f.Values) != 0 {
			t.Errorf("%s: %v %v", name, f.Values, err)
		}
	}
}

// Set edits one value and leaves every other byte of a canonical stack file alone, so a promotion
// is a one-line change in review.
func TestStackFileSetKeepsEverythingElse(t *testing.T) {
	root, err := FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile(StackFilePath(root, "pilot"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := StackFilePath(dir, "pilot")
	if err := os.WriteFile(p, orig, 0o640); err != nil {
		t.Fatal(err)
	}
	f, err := ReadStackFile(dir, "pilot")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := f.Bytes(); !bytes.Equal(b, orig) {
		t.Fatalf("the committed Pulumi.pilot.yaml is not in canonical form (re-encoding changes it):\n%s", b)
	}
	ref := "registry.example:5000/isl@sha256:" + strings.Repeat("ab", 32)
	if err := f.Set("isl:image", ref); err != nil {
		t.Fatal(err)
	}
	if err := f.Set("isl:newKey", "true"); err != nil {
		t.Fatal(err)
	}
	if err := f.Write(); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	ol, gl := strings.Split(string(orig), "\n"), strings.Split(string(got), "\n")
	var changed []string
	for i := range ol {
		if i >= len(gl) || ol[i] != gl[i] {
			changed = append(changed, ol[i]+" → "+gl[i])
		}
	}
	if len(changed) != 2 || !strings.HasSuffix(changed[0], "  isl:image: "+ref) || !strings.HasSuffix(changed[1], `  isl:newKey: "true"`) {
		t.Errorf("changed lines: %q", changed)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640 kept", st.Mode().Perm())
	}
	again, err := ReadStackFile(dir, "pilot")
	if err != nil || again.Values["isl:image"] != ref || again.Values["isl:newKey"] != "true" {
		t.Errorf("re-read: %v %q", err, again.Values["isl:image"])
	}
}

func TestReadStackFileUnknownStackListsKnown(t *testing.T) {
	dir := t.TempDir()
	for _, s := range []string{"dev", "pilot"} {
		os.WriteFile(filepath.Join(dir, "Pulumi."+s+".yaml"), []byte("config: {}\n"), 0o644)
	}
	_, err := ReadStackFile(dir, "pilto")
	if err == nil || !strings.Contains(err.Error(), `no stack "pilto"`) || !strings.Contains(err.Error(), "known stacks: dev, pilot") {
		t.Errorf("error = %v", err)
	}
}

func FuzzParseStackFile(f *testing.F) {
	f.Add(pulumiForms(f))
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
				t.Fatalf("key without namespace kept: %q", k)
			}
		}
		// Whatever parses re-encodes to a document with the same values, or Bytes refuses.
		b, err := sf.Bytes()
		if err != nil {
			if !strings.Contains(err.Error(), "re-encod") {
				t.Fatalf("encode: %v", err)
			}
			return
		}
		again, err := ParseStackFile(b)
		if err != nil {
			t.Fatalf("re-parse of\n%s\nfailed: %v", b, err)
		}
		if !reflect.DeepEqual(again.Values, sf.Values) {
			t.Fatalf("round trip changed values: %v → %v", sf.Values, again.Values)
		}
	})
}
