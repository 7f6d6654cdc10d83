package config

import (
	"testing"
)

// .env.example documents every key the service reads, and parses into a valid configuration.
func TestEnvExampleDocumentsEveryKey(t *testing.T) {
	kv, err := ReadDotEnv("../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range Keys {
		if _, ok := kv[k]; !ok {
			t.Errorf(".env.example lacks %s", k)
		}
	}
	if _, err := FromLookup(func(k string) (string, bool) { v, ok := kv[k]; return v, ok }); err != nil {
		t.Fatalf(".env.example is not a valid configuration: %v", err)
	}
}
