package server

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the service's own Prometheus metrics, in a registry of
// their own (so that several servers can run in one test binary).
type metrics struct {
	reg           *prometheus.Registry
	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	jobsProcessed prometheus.Counter
	jobsFailed    prometheus.Counter
}

func newMetrics(depth func(ctx context.Context) (int, error)) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "preflight_http_requests_total", Help: "HTTP requests by route, method and status code."},
			[]string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "preflight_http_request_duration_seconds", Help: "HTTP request latency by route and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}},
			[]string{"route", "code"}),
		jobsProcessed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "preflight_jobs_processed_total", Help: "Verification jobs completed by this process."}),
		jobsFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "preflight_jobs_failed_total", Help: "Verification job attempts that failed in this process (they are retried)."}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.jobsProcessed, m.jobsFailed,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if depth != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "preflight_queue_depth", Help: "Verification jobs not yet done (queued, scheduled, retrying or running)."},
			func() float64 {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				n, err := depth(ctx)
				if err != nil {
					return -1
				}
				return float64(n)
			}))
	}
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *metrics) observe(route, method string, code int, d time.Duration) {
	c := strconv.Itoa(code)
	m.requests.WithLabelValues(route, method, c).Inc()
	m.latency.WithLabelValues(route, c).Observe(d.Seconds())
}
