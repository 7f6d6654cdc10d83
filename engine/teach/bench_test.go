package teach

import (
	"fmt"
	"testing"

	"github.com/olumi/isl/engine/elicit"
	"github.com/olumi/isl/engine/jsonv"
)

// BenchmarkTeach10: 10 variables with beliefs, 5 examples.
func BenchmarkTeach10(b *testing.B) {
	req := Request{Beliefs: w7Beliefs(), Concept: "confounding", MaxExamples: 5, Context: elicit.Context{Domain: "d"}}
	for i := range 10 {
		v := fmt.Sprintf("v%d", i)
		req.Context.Variables = append(req.Context.Variables, v)
		req.Beliefs.ValueWeights = append(req.Beliefs.ValueWeights, jsonv.Entry[elicit.Distribution]{Key: v, Value: dist("normal", float64(i)/10, 0.1)})
	}
	for range b.N {
		if _, err := Teach(req); err != nil {
			b.Fatal(err)
		}
	}
}
