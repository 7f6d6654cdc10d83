// Command isl-floor is the floor of the server CPU figures in benchmarks/RESULTS.md: a bare net/http
// server answering GET /health with a fixed body of /health's size, started by isl-cpu exactly as
// ISL is (HOST and PORT from the environment). What ISL costs above it is ISL's own work; what it
// costs itself is the kernel's and net/http's, which no Go service avoids.
package main

import (
	"net/http"
	"os"
)

var body = []byte(`{"status":"healthy","version":"0.0.0-dev","timestamp":"2026-12-01T22:53:51.639876Z",` +
	`"dependencies":{"store":{"status":"connected","backend":"memory","latency_ms":0.001}}}`)

func main() {
	http.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	if err := http.ListenAndServe(os.Getenv("HOST")+":"+os.Getenv("PORT"), nil); err != nil {
		os.Stderr.WriteString("isl-floor: " + err.Error() + "\n")
		os.Exit(1)
	}
}
