package sensitivity

import "math"

// EValue is VanderWeele & Ding's (2017) E-value for an observed risk ratio: the minimum
// strength of association, on the risk-ratio scale, that an unmeasured confounder would
// need with both treatment and outcome to fully explain away the observed association.
type EValue struct {
	Point float64 `json:"point"`
	// CILimit is the E-value of the confidence limit closer to the null (1 when the
	// interval already includes 1); null when no interval was given.
	CILimit *float64 `json:"ci_limit"`
}

// eValueRR is RR + sqrt(RR·(RR−1)) for RR ≥ 1; protective ratios (RR < 1) use 1/RR.
// rr must be positive and finite.
func eValueRR(rr float64) float64 {
	if rr < 1 {
		rr = 1 / rr
	}
	return rr + math.Sqrt(rr*(rr-1))
}

// computeEValue returns the E-value of rr and, when lo/hi are given (ok), of the confidence
// limit closer to the null. ok is false when rr is not a positive finite number.
func computeEValue(rr float64, lo, hi float64, haveCI bool) (*EValue, bool) {
	if !(rr > 0) || math.IsInf(rr, 0) {
		return nil, false
	}
	ev := &EValue{Point: eValueRR(rr)}
	if math.IsInf(ev.Point, 0) { // RR near MaxFloat64: RR·(RR−1) overflows
		return nil, false
	}
	if haveCI && lo > 0 && hi > 0 && !math.IsInf(hi, 0) {
		if lo > hi {
			lo, hi = hi, lo
		}
		var limit float64
		switch {
		case lo <= 1 && hi >= 1:
			limit = 1 // the interval includes the null
		case lo > 1:
			limit = eValueRR(lo) // the limit closer to 1
		default: // hi < 1
			limit = eValueRR(hi)
		}
		if math.IsInf(limit, 0) {
			return ev, true
		}
		ev.CILimit = &limit
	}
	return ev, true
}
