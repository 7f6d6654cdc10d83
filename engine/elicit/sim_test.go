package elicit

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/olumi/isl/engine/jsonv"
)

func mustValue(t testing.TB, s string) *jsonv.Value {
	t.Helper()
	v, err := jsonv.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return &v
}

// simUser answers like the model says a user with hidden weights w answers (well-specified test).
type simUser struct {
	w   map[string]float64
	rng *rand.Rand
	n   int
}

func (u simUser) answer(q IssuedQuery) string {
	du := 0.0
	for _, e := range q.Coef {
		du += u.w[e.Key] * e.Value
	}
	pa, pb, _ := probs(Rationality * float64(u.n) * du)
	x := u.rng.Float64()
	switch {
	case x < pa:
		return "A"
	case x < pa+pb:
		return "B"
	}
	return "indifferent"
}

func dirichlet(r *rand.Rand, n int) []float64 {
	w := make([]float64, n)
	s := 0.0
	for i := range w {
		w[i] = r.ExpFloat64()
		s += w[i]
	}
	for i := range w {
		w[i] /= s
	}
	return w
}

// runSim returns the L1 error of the posterior mean before and after `answers` answers.
func runSim(t testing.TB, seed uint64, answers int, random bool) (before, after float64) {
	vars := []string{"revenue", "churn", "brand", "cost"}
	r := rand.New(rand.NewPCG(seed, 7))
	hidden := dirichlet(r, len(vars))
	u := simUser{w: map[string]float64{}, rng: r, n: len(vars)}
	for i, v := range vars {
		u.w[v] = hidden[i]
	}
	ctx := Context{Domain: "pricing", Variables: vars, Constraints: mustValue(t, `{"minimize":["churn","cost"]}`)}
	st, err := Prepare(ctx, nil, nil, uint32(seed))
	if err != nil {
		t.Fatal(err)
	}
	errOf := func(s *State) float64 {
		m, _ := s.Posterior().Moments()
		e := 0.0
		for i := range m {
			e += math.Abs(m[i] - hidden[i])
		}
		return e
	}
	before = errOf(st)
	for range answers {
		var q IssuedQuery
		if random {
			pool := st.pool(vars)
			q = st.render(pool[r.IntN(len(pool))], ctx.Domain)
			q.ID = fmt.Sprintf("random_%03d", st.Answered)
		} else {
			res, err := Elicit(st, ctx, 1, fmt.Sprintf("%08d", st.Answered))
			if err != nil {
				t.Fatal(err)
			}
			q = res.Queries[0]
		}
		st, err = st.Apply(q, u.answer(q), 1)
		if err != nil {
			t.Fatal(err)
		}
	}
	return before, errOf(st)
}

func TestLearnsHiddenWeights(t *testing.T) {
	if testing.Short() {
		t.Skip("simulation")
	}
	const users = 50
	var b0, eIG, eRnd float64
	for s := range users {
		b, a := runSim(t, uint64(1000+s), 10, false)
		_, ar := runSim(t, uint64(1000+s), 10, true)
		b0 += b / users
		eIG += a / users
		eRnd += ar / users
	}
	t.Logf("mean L1 error: prior %.4f, IG %.4f, random %.4f", b0, eIG, eRnd)
	if !(eIG < 0.7*b0) {
		t.Errorf("IG posterior error %.4f not clearly below prior error %.4f", eIG, b0)
	}
	if !(eIG < 0.9*eRnd) {
		t.Errorf("IG error %.4f not clearly below random-selection error %.4f", eIG, eRnd)
	}
}
