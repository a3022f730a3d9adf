package store_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/preflight-sh/preflight/store"
	"github.com/preflight-sh/preflight/store/storetest"
)

func TestFreezeWindows(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		s := storetest.Open(t, dsn)
		xmas := store.FreezeWindow{Name: "xmas", Schedule: "0 0 20 12 *", Duration: 14 * 24 * time.Hour, OverrideGroups: []string{"sre"}}
		friday := store.FreezeWindow{Name: "friday", Schedule: "0 16 * * 5", Duration: 64 * time.Hour, OverrideGroups: []string{}}
		for _, tc := range []struct {
			name string
			w    store.FreezeWindow
			want error
		}{
			{"new", xmas, nil},
			{"another", friday, nil},
			{"no name", store.FreezeWindow{Schedule: "x", Duration: time.Hour}, store.ErrInvalid},
			{"no schedule", store.FreezeWindow{Name: "x", Duration: time.Hour}, store.ErrInvalid},
			{"no duration", store.FreezeWindow{Name: "x", Schedule: "x"}, store.ErrInvalid},
			{"fractional seconds", store.FreezeWindow{Name: "x", Schedule: "x", Duration: 1500 * time.Millisecond}, store.ErrInvalid},
			{"negative", store.FreezeWindow{Name: "x", Schedule: "x", Duration: -time.Hour}, store.ErrInvalid},
		} {
			if err := s.PutFreezeWindow(t.Context(), tc.w, "root"); !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
		}
		xmas.Duration, xmas.OverrideGroups = 10*24*time.Hour, []string{"sre", "oncall"}
		if err := s.PutFreezeWindow(t.Context(), xmas, "root"); err != nil {
			t.Fatal(err)
		}
		ws, err := s.FreezeWindows(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if want := []store.FreezeWindow{friday, xmas}; !reflect.DeepEqual(ws, want) {
			t.Errorf("got %+v, want %+v", ws, want)
		}
		if err := s.DeleteFreezeWindow(t.Context(), "friday", "root"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteFreezeWindow(t.Context(), "friday", "root"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second deletion: %v", err)
		}
		if ws, err := s.FreezeWindows(t.Context()); err != nil || len(ws) != 1 {
			t.Errorf("%d windows, %v; want 1", len(ws), err)
		}
	})
}
