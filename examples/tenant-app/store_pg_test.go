package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestPGStore runs against a real PostgreSQL when TENANT_APP_TEST_DATABASE=1
// and the contract's DATABASE_* variables point at it. It works in a schema
// of its own, dropped at the end.
func TestPGStore(t *testing.T) {
	t.Parallel()

	if os.Getenv("TENANT_APP_TEST_DATABASE") != "1" {
		t.Skip("set TENANT_APP_TEST_DATABASE=1 and DATABASE_* to run against PostgreSQL")
	}
	c, err := loadConfig(roleWorker, func(k string) string {
		if k == envTenantID || k == envCloud || k == envStack || k == envQueueURL || k == envDeadLetterURL {
			return "unused"
		}
		return os.Getenv(k)
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	schema := fmt.Sprintf("tenant_app_test_%d", time.Now().UnixNano())
	admin, err := pgx.Connect(ctx, connString(c.DB, "tenant-app-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = admin.Close(t.Context()) }()
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = admin.Exec(t.Context(), "DROP SCHEMA "+schema+" CASCADE") }() // best effort

	newStore := func() *pgStore {
		s, err := newPGStore(c.DB, "tenant-app-test", 2)
		if err != nil {
			t.Fatal(err)
		}
		s.cfg.RuntimeParams["search_path"] = schema
		return s
	}
	// Web app and worker start together: both create the table.
	stores := []*pgStore{newStore(), newStore(), newStore(), newStore()}
	var wg sync.WaitGroup
	for _, s := range stores {
		defer s.Close(t.Context())
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Ping(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()

	s := stores[0]
	for i := range 3 {
		if _, err := s.Insert(ctx, "queue.acme", fmt.Sprintf("m%d\x00\xff", i), map[string]string{"k": "v"}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := stores[1].Count(ctx)
	if err != nil || n != 3 {
		t.Fatalf("count %d, %v", n, err)
	}
	evs, err := stores[2].Recent(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Body != "m2\uFFFD\uFFFD" || evs[0].ID <= evs[1].ID || !jsonEqual(evs[0].Attributes, `{"k":"v"}`) || evs[0].ReceivedAt.IsZero() {
		t.Errorf("recent %+v", evs)
	}

	// A connection killed behind the store's back is replaced transparently.
	if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'tenant-app-test' AND pid <> pg_backend_pid()"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if err := s.Ping(ctx); err != nil {
		t.Errorf("ping after the connection was killed: %v", err)
	}
	if n, err := s.Count(ctx); err != nil || n != 3 {
		t.Errorf("count after the connection was killed: %d, %v", n, err)
	}
}
