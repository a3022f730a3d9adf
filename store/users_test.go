package store_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/preflight-sh/preflight/store"
	"github.com/preflight-sh/preflight/store/storetest"
)

func TestPutUser(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		s := storetest.Open(t, dsn)
		for _, tc := range []struct {
			name    string
			user    store.User
			want    store.User
			wantErr error
		}{
			{name: "new", user: store.User{Name: "alice", Roles: []store.Role{store.Author, store.Viewer, store.Author}, Groups: []string{"web", "db", "web"}},
				want: store.User{Name: "alice", Roles: []store.Role{store.Author, store.Viewer}, Groups: []string{"db", "web"}}},
			{name: "replaced", user: store.User{Name: "alice", Roles: []store.Role{store.Admin}},
				want: store.User{Name: "alice", Roles: []store.Role{store.Admin}, Groups: []string{}}},
			{name: "unknown role", user: store.User{Name: "bob", Roles: []store.Role{"root"}}, wantErr: store.ErrInvalid},
			{name: "no name", user: store.User{Roles: []store.Role{store.Viewer}}, wantErr: store.ErrInvalid},
		} {
			err := s.PutUser(t.Context(), tc.user, "root")
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("%s: error %v, want %v", tc.name, err, tc.wantErr)
			}
			if err != nil {
				if _, err := s.User(t.Context(), tc.user.Name); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s: stored anyway (%v)", tc.name, err)
				}
				continue
			}
			got, err := s.User(t.Context(), tc.user.Name)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
			}
		}
	})
}

func TestTokens(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		s := storetest.Open(t, dsn)
		ctx := t.Context()
		seed(t, s)
		token, tok, err := s.CreateToken(ctx, "bob", "laptop", "root")
		if err != nil {
			t.Fatal(err)
		}
		other, _, err := s.CreateToken(ctx, "bob", "ci", "root")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(token, "pft_") || token == other {
			t.Fatalf("tokens %q and %q", token, other)
		}
		u, got, err := s.Authenticate(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		if u.Name != "bob" || got != tok {
			t.Errorf("authenticated %+v with %+v, want bob with %+v", u, got, tok)
		}
		if _, _, err := s.CreateToken(ctx, "nobody", "x", "root"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("token for an unknown user: %v", err)
		}
		if err := s.RevokeToken(ctx, tok.ID, "root"); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeToken(ctx, tok.ID, "root"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second revocation: %v", err)
		}
		for _, tc := range []struct{ name, token string }{
			{"revoked", token},
			{"empty", ""},
			{"no prefix", strings.TrimPrefix(other, "pft_")},
			{"truncated", other[:len(other)-1]},
			{"altered", other[:len(other)-2] + "AA"},
			{"not base64", "pft_" + strings.Repeat("!", 43)},
		} {
			if _, _, err := s.Authenticate(ctx, tc.token); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s token: %v, want ErrNotFound", tc.name, err)
			}
		}
		if _, _, err := s.Authenticate(ctx, other); err != nil {
			t.Errorf("the other token: %v", err)
		}
		ts, err := s.Tokens(ctx, "bob")
		if err != nil {
			t.Fatal(err)
		}
		if len(ts) != 2 {
			t.Fatalf("%d tokens, want 2", len(ts))
		}
		for _, x := range ts {
			if (x.ID == tok.ID) == x.Revoked.IsZero() {
				t.Errorf("token %s (%s) revoked at %v", x.ID, x.Name, x.Revoked)
			}
		}
	})
}
