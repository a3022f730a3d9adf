package server

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestLoad drives GET /api/v1/changes/{id} at 200 requests/s for 10 s on
// loopback and reports p50/p99, then measures verification throughput on
// the shop example. It runs only with PREFLIGHT_LOAD=1 (bench/serve-load.sh).
func TestLoad(t *testing.T) {
	if os.Getenv("PREFLIGHT_LOAD") == "" {
		t.Skip("PREFLIGHT_LOAD is not set: the load test runs from bench/serve-load.sh")
	}
	dsn := os.Getenv("PREFLIGHT_LOAD_DSN")
	if dsn == "" {
		dsn = t.TempDir()
	}
	s := start(t, Config{DSN: dsn})
	s.users(t)
	id := s.submit(t, "alice", "file", readChange(t, "01-scale-api.yaml"))
	s.wait(t, id)

	const rate, seconds = 200, 10
	url := fmt.Sprintf("%s/api/v1/changes/%d", s.ts.URL, id)
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	client := &http.Client{Transport: tr}
	var mu sync.Mutex
	var lat []time.Duration
	var errs int
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / rate)
	for range rate * seconds {
		<-tick.C
		wg.Go(func() {
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Authorization", "Bearer "+s.tokens["vic"])
			t0 := time.Now()
			resp, err := client.Do(req)
			d := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			if err != nil || resp.StatusCode != 200 {
				errs++
			} else {
				lat = append(lat, d)
			}
			if resp != nil {
				resp.Body.Close()
			}
		})
	}
	tick.Stop()
	wg.Wait()
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
	t.Logf("GET /api/v1/changes/{id}: %d requests at %d/s for %ds, %d errors; p50 %v, p99 %v, max %v",
		len(lat)+errs, rate, seconds, errs, q(0.50), q(0.99), lat[len(lat)-1])
	if errs > 0 || q(0.99) > 50*time.Millisecond {
		t.Errorf("p99 %v (target < 50ms), %d errors", q(0.99), errs)
	}

	// Verification throughput: N changes queued at once.
	const n = 30
	cmds := []string{"drain zone use1-az2", "scale service=api min=12", "set lb api-lb weight us-east-1=0"}
	t0 := time.Now()
	ids := make([]int64, n)
	for i := range n {
		ids[i] = s.submit(t, "alice", "command", fmt.Sprintf("%s\n# %d", cmds[i%len(cmds)], i))
	}
	for _, id := range ids {
		s.wait(t, id)
	}
	d := time.Since(t0)
	t.Logf("verification: %d checks in %v with 2 workers: %.0f checks/minute", n, d.Round(time.Millisecond), float64(n)/d.Minutes())
}
