package signup

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sync"
	"time"
)

// TemplateVersion is a tenant template the service has provisioned with,
// named by a hash of its content and of the tenantfleet build: a changed
// template, or a new build (whose adapters may create resources
// differently), is a new version.
type TemplateVersion struct {
	Version string `json:"version"`
	// Source is the template's file ("the built-in template" for the default).
	Source string `json:"source"`
	// Build names the tenantfleet build (a hash of its executable).
	Build     string    `json:"build"`
	CreatedAt time.Time `json:"createdAt"`
	// Current is true for the version the service runs with: signups get it.
	Current bool `json:"current"`
	// Tenants counts the tenants last applied with the version.
	Tenants int `json:"tenants"`
}

var versionPattern = regexp.MustCompile(`^[0-9a-f]{12}$`)

// versionOf returns the version of template t with build, and the
// template's content as stored.
func versionOf(t *Template, build string) (string, []byte, error) {
	content, err := json.Marshal(t) // maps marshal with sorted keys: a stable form
	if err != nil {
		return "", nil, err
	}
	h := sha256.New()
	h.Write(content)
	h.Write([]byte{0})
	h.Write([]byte(build))
	return hex.EncodeToString(h.Sum(nil))[:12], content, nil
}

var (
	buildOnce sync.Once
	buildID   string
)

// BuildID names the running tenantfleet build: the first 12 hex digits of
// the SHA-256 of its executable, or "unknown" when it cannot be read.
func BuildID() string {
	buildOnce.Do(func() {
		buildID = "unknown"
		exe, err := os.Executable()
		if err != nil {
			return
		}
		f, err := os.Open(exe)
		if err != nil {
			return
		}
		defer func() { _ = f.Close() }() // read only
		h := sha256.New()
		if _, err := io.Copy(h, f); err == nil {
			buildID = hex.EncodeToString(h.Sum(nil))[:12]
		}
	})
	return buildID
}

// SaveVersion records a template version; recording it again changes nothing.
func (s *Store) SaveVersion(ctx context.Context, v TemplateVersion, content []byte) error {
	_, err := s.DB.ExecContext(ctx, s.q(`INSERT INTO tenantfleet_template_version (version, template, source, build, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (version) DO NOTHING`), v.Version, string(content), v.Source, v.Build, millis(v.CreatedAt))
	return err
}

// Versions lists the recorded template versions, oldest first, with the
// number of tenants (not deleted) last applied with each.
func (s *Store) Versions(ctx context.Context) ([]TemplateVersion, error) {
	rows, err := s.DB.QueryContext(ctx, s.q(`SELECT v.version, v.source, v.build, v.created_at,
		(SELECT COUNT(*) FROM tenantfleet_tenant t WHERE t.template_version = v.version AND t.state <> ?)
		FROM tenantfleet_template_version v ORDER BY v.created_at, v.version`), string(StateDeleted))
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }() // rows.Err, below, reports a failed read
	var out []TemplateVersion
	for rows.Next() {
		var (
			v  TemplateVersion
			at int64
		)
		if err := rows.Scan(&v.Version, &v.Source, &v.Build, &at, &v.Tenants); err != nil {
			return nil, err
		}
		v.CreatedAt = time.UnixMilli(at).UTC()
		out = append(out, v)
	}
	return out, rows.Err()
}

// VersionTemplate returns the template of a recorded version, or ErrNotFound.
func (s *Store) VersionTemplate(ctx context.Context, version string) (*Template, error) {
	var content, source string
	err := s.DB.QueryRowContext(ctx, s.q(`SELECT template, source FROM tenantfleet_template_version WHERE version = ?`), version).Scan(&content, &source)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var t Template
	if err := json.Unmarshal([]byte(content), &t); err != nil {
		return nil, fmt.Errorf("template version %s: corrupt template: %w", version, err)
	}
	t.source = source + " (version " + version + ")"
	return &t, nil
}

// templateFor returns the template of version: the service's own for its
// version (or for "", a tenant provisioned before versions were recorded),
// else the recorded one.
func (s *Service) templateFor(ctx context.Context, version string) (*Template, error) {
	if version == "" || version == s.version {
		return s.cfg.Template, nil
	}
	s.mu.Lock()
	t, ok := s.templates[version]
	s.mu.Unlock()
	if ok {
		return t, nil
	}
	t, err := s.store.VersionTemplate(ctx, version)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.templates[version] = t
	s.mu.Unlock()
	return t, nil
}

// Version is the template version the service runs with.
func (s *Service) Version() string { return s.version }

// registerVersion records the service's template version.
func (s *Service) registerVersion(ctx context.Context) error {
	v, content, err := versionOf(s.cfg.Template, s.cfg.Build)
	if err != nil {
		return err
	}
	s.version = v
	return s.store.SaveVersion(ctx, TemplateVersion{Version: v, Source: s.cfg.Template.source, Build: s.cfg.Build, CreatedAt: time.Now()}, content)
}
