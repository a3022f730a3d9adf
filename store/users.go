package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/preflight-sh/preflight/audit"
)

// Role is what a user may do in the review service.
type Role string

// The roles.
const (
	Viewer   Role = "viewer"   // reads change requests and the audit log
	Author   Role = "author"   // proposes and edits change requests
	Approver Role = "approver" // approves and rejects change requests
	Admin    Role = "admin"    // manages users, tokens and freeze windows
)

// User is a person or robot known to the review service.
type User struct {
	Name string
	// Roles and Groups are kept sorted and without repeats.
	Roles  []Role
	Groups []string
}

// PutUser creates the user or replaces its roles and groups.
func (s *Store) PutUser(ctx context.Context, u User, actor string) error {
	if u.Name == "" {
		return fmt.Errorf("%w: a user needs a name", ErrInvalid)
	}
	for _, r := range u.Roles {
		if !slices.Contains([]Role{Viewer, Author, Approver, Admin}, r) {
			return fmt.Errorf("%w: unknown role %q (viewer, author, approver or admin)", ErrInvalid, r)
		}
	}
	u.Roles, u.Groups = slices.Compact(slices.Sorted(slices.Values(u.Roles))), slices.Compact(slices.Sorted(slices.Values(u.Groups)))
	return s.write(ctx, func(tx *sql.Tx, now time.Time) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (name, roles, member_of) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET roles = excluded.roles, member_of = excluded.member_of`,
			u.Name, encodeList(u.Roles), encodeList(u.Groups)); err != nil {
			return err
		}
		return record(ctx, tx, now, audit.Entry{Actor: actor, Action: "user.put"},
			map[string]any{"user": u.Name, "roles": u.Roles, "groups": u.Groups})
	})
}

// User returns the named user.
func (s *Store) User(ctx context.Context, name string) (User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT name, roles, member_of FROM users WHERE name = $1`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("%w: user %q", ErrNotFound, name)
	}
	return u, err
}

func scanUser(row interface{ Scan(...any) error }, more ...any) (User, error) {
	var u User
	var roles, groups string
	if err := row.Scan(append([]any{&u.Name, &roles, &groups}, more...)...); err != nil {
		return User{}, err
	}
	var err error
	if u.Roles, err = decodeList[Role](roles); err != nil {
		return User{}, fmt.Errorf("user %q: roles: %w", u.Name, err)
	}
	if u.Groups, err = decodeList[string](groups); err != nil {
		return User{}, fmt.Errorf("user %q: groups: %w", u.Name, err)
	}
	return u, nil
}

// Token is an API token as the store keeps it: its hash, never the token.
type Token struct {
	// ID is the hex SHA-256 of the token's random bytes.
	ID      string
	User    string
	Name    string
	Created time.Time
	// Revoked is when the token was revoked; zero while it is valid.
	Revoked time.Time
}

// tokenPrefix starts every token, so that secret scanners can spot one.
const tokenPrefix = "pft_"

// CreateToken creates an API token for user and returns it. The token is
// returned only this once: the store keeps its hash.
func (s *Store) CreateToken(ctx context.Context, user, name, actor string) (string, Token, error) {
	secret := make([]byte, 32)
	rand.Read(secret) // never fails
	token := tokenPrefix + base64.RawURLEncoding.EncodeToString(secret)
	t := Token{ID: tokenID(secret), User: user, Name: name}
	err := s.write(ctx, func(tx *sql.Tx, now time.Time) error {
		t.Created = now
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE name = $1`, user).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: user %q", ErrNotFound, user)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (hash, user_name, name, created_at) VALUES ($1, $2, $3, $4)`,
			t.ID, t.User, t.Name, stamp(now)); err != nil {
			return err
		}
		return record(ctx, tx, now, audit.Entry{Actor: actor, Action: "token.create"},
			map[string]any{"token": t.ID, "user": t.User, "name": t.Name})
	})
	if err != nil {
		return "", Token{}, err
	}
	return token, t, nil
}

func tokenID(secret []byte) string {
	h := sha256.Sum256(secret)
	return hex.EncodeToString(h[:])
}

// Authenticate returns the user a valid token belongs to, and the token.
// An unknown, malformed or revoked token is ErrNotFound.
func (s *Store) Authenticate(ctx context.Context, token string) (User, Token, error) {
	secret, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(token, tokenPrefix))
	if !strings.HasPrefix(token, tokenPrefix) || err != nil || len(secret) != 32 {
		return User{}, Token{}, fmt.Errorf("%w: not a valid token", ErrNotFound)
	}
	t := Token{ID: tokenID(secret)}
	var created string
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT u.name, u.roles, u.member_of, t.name, t.created_at
		FROM api_tokens t JOIN users u ON u.name = t.user_name
		WHERE t.hash = $1 AND t.revoked_at IS NULL`, t.ID), &t.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, Token{}, fmt.Errorf("%w: not a valid token", ErrNotFound)
	}
	if err != nil {
		return User{}, Token{}, err
	}
	t.User = u.Name
	if t.Created, err = parseStamp(created); err != nil {
		return User{}, Token{}, err
	}
	return u, t, nil
}

// Tokens lists a user's tokens, revoked ones included, oldest first.
func (s *Store) Tokens(ctx context.Context, user string) ([]Token, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT hash, user_name, name, created_at, revoked_at
		FROM api_tokens WHERE user_name = $1 ORDER BY created_at, hash`, user)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ts []Token
	for rows.Next() {
		var t Token
		var created string
		var revoked sql.NullString
		if err := rows.Scan(&t.ID, &t.User, &t.Name, &created, &revoked); err != nil {
			return nil, err
		}
		if t.Created, err = parseStamp(created); err != nil {
			return nil, err
		}
		if revoked.Valid {
			if t.Revoked, err = parseStamp(revoked.String); err != nil {
				return nil, err
			}
		}
		ts = append(ts, t)
	}
	return ts, rows.Err()
}

// RevokeToken revokes the token with the given ID. Revoking an unknown or
// already revoked token is ErrNotFound.
func (s *Store) RevokeToken(ctx context.Context, id, actor string) error {
	return s.write(ctx, func(tx *sql.Tx, now time.Time) error {
		var user string
		err := tx.QueryRowContext(ctx, `UPDATE api_tokens SET revoked_at = $1 WHERE hash = $2 AND revoked_at IS NULL
			RETURNING user_name`, stamp(now), id).Scan(&user)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: no valid token %q", ErrNotFound, id)
		}
		if err != nil {
			return err
		}
		return record(ctx, tx, now, audit.Entry{Actor: actor, Action: "token.revoke"},
			map[string]any{"token": id, "user": user})
	})
}
