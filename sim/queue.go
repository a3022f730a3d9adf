package sim

import "math"

// ErlangC is the probability that a request arriving at an M/M/c queue with
// c servers and offered load a = λ/μ (in servers) has to wait. It is 1 when
// the queue is saturated (a >= c).
func ErlangC(c int, a float64) float64 {
	if c <= 0 || a >= float64(c) {
		return 1
	}
	if a <= 0 {
		return 0
	}
	// Erlang B by its stable recurrence, then C from B.
	b := 1.0
	for k := 1; k <= c; k++ {
		b = a * b / (float64(k) + a*b)
	}
	rho := a / float64(c)
	return b / (1 - rho + rho*b)
}

// MeanWait is the mean time a request waits in an M/M/c queue before
// service starts: C(c, a) / (cμ − λ), with μ = 1/service and λ = rate. It is
// +Inf when the queue is saturated.
func MeanWait(c int, rate, service float64) float64 {
	mu := 1 / service
	if rate <= 0 {
		return 0
	}
	if rate >= float64(c)*mu {
		return math.Inf(1)
	}
	return ErlangC(c, rate*service) / (float64(c)*mu - rate)
}

// WaitQuantile is the q-quantile (0 < q < 1) of the M/M/c waiting time:
// P(W > t) = C·e^{−(cμ−λ)t}, so t = ln(C/(1−q)) / (cμ − λ), or 0 when fewer
// than 1−q of requests wait at all.
func WaitQuantile(c int, rate, service, q float64) float64 {
	mu := 1 / service
	if rate <= 0 {
		return 0
	}
	if rate >= float64(c)*mu {
		return math.Inf(1)
	}
	pc := ErlangC(c, rate*service)
	if pc <= 1-q {
		return 0
	}
	return math.Log(pc/(1-q)) / (float64(c)*mu - rate)
}

// RetryAmplification is the load a caller sends per first attempt when each
// attempt fails independently with probability p and it retries up to r
// times: 1 + p + p² + … + p^r.
func RetryAmplification(p float64, r int) float64 {
	total, term := 0.0, 1.0
	for range r + 1 {
		total += term
		term *= p
	}
	return total
}
