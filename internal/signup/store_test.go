package signup

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"
)

// fakeQueue stands in for River's InsertTx in store tests: it hands out job
// ids and can be made to fail, to show the record rolls back with it.
type fakeQueue struct {
	next int64
	jobs []ReconcileArgs
	fail error
}

func (q *fakeQueue) enqueue(_ context.Context, _ *sql.Tx, id string, gen int64) (int64, error) {
	if q.fail != nil {
		return 0, q.fail
	}
	q.next++
	q.jobs = append(q.jobs, ReconcileArgs{Tenant: id, Generation: gen})
	return q.next, nil
}

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := OpenStore(t.Context(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close the store: %v", err)
		}
	})
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSignupIsIdempotentAndConflictsNameTheField(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, q := newStore(t), &fakeQueue{}
	req := Request{ID: "acme", Tier: "small", Cloud: "local"}

	first, started, err := s.Signup(ctx, req, "tenant-acme", "abcdef012345", Mutation{}, q.enqueue)
	if err != nil || !started || first.State != StateQueued || first.Generation != 1 || first.JobID != 1 {
		t.Fatalf("first signup: %+v started=%v err=%v", first, started, err)
	}
	again, started, err := s.Signup(ctx, req, "tenant-acme", "abcdef012345", Mutation{}, q.enqueue)
	if err != nil || started || again.Generation != 1 || len(q.jobs) != 1 {
		t.Fatalf("repeated signup: started=%v gen=%d jobs=%d err=%v; want the record, no new job", started, again.Generation, len(q.jobs), err)
	}

	var conflict *ConflictError
	_, _, err = s.Signup(ctx, Request{ID: "acme", Tier: "large", Cloud: "local"}, "tenant-acme", "abcdef012345", Mutation{}, q.enqueue)
	if !errors.As(err, &conflict) || conflict.Field != "tier" {
		t.Fatalf("signup with another tier: %v, want a conflict naming tier", err)
	}

	// An Idempotency-Key answers its first request again, and refuses another body.
	key := Mutation{IdempotencyKey: "k-1"}
	if _, started, err := s.Signup(ctx, Request{ID: "globex", Tier: "small", Cloud: "local"}, "tenant-globex", "abcdef012345", key, q.enqueue); err != nil || !started {
		t.Fatalf("signup with a key: started=%v err=%v", started, err)
	}
	if got, started, err := s.Signup(ctx, Request{ID: "globex", Tier: "small", Cloud: "local"}, "tenant-globex", "abcdef012345", key, q.enqueue); err != nil || started || got.ID != "globex" {
		t.Fatalf("same key, same body: %+v started=%v err=%v", got, started, err)
	}
	_, _, err = s.Signup(ctx, Request{ID: "initech", Tier: "small", Cloud: "local"}, "tenant-initech", "abcdef012345", key, q.enqueue)
	if !errors.As(err, &conflict) || conflict.Field != "Idempotency-Key" {
		t.Fatalf("same key, another body: %v, want a conflict naming Idempotency-Key", err)
	}
	if _, err := s.Get(ctx, "initech"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the refused request created initech (%v)", err)
	}
}

func TestARefusedRequestChangesNothing(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, q := newStore(t), &fakeQueue{}
	req := Request{ID: "acme", Tier: "small", Cloud: "local"}
	if _, _, err := s.Signup(ctx, req, "tenant-acme", "abcdef012345", Mutation{WebhookID: "msg_1"}, q.enqueue); err != nil {
		t.Fatal(err)
	}
	// A webhook id reused for another request is refused, even for a request that would create something.
	_, _, err := s.Signup(ctx, Request{ID: "globex", Tier: "small", Cloud: "local"}, "tenant-globex", "abcdef012345", Mutation{WebhookID: "msg_1"}, q.enqueue)
	var conflict *ConflictError
	if !errors.As(err, &conflict) || conflict.Field != "webhook-id" {
		t.Fatalf("webhook id reused for another tenant: %v, want a conflict naming webhook-id", err)
	}
	if _, err := s.Get(ctx, "globex"); !errors.Is(err, ErrNotFound) {
		t.Fatal("a reused webhook id created globex")
	}
	// When the job cannot be queued, the tenant is not recorded either.
	q.fail = errors.New("queue down")
	if _, _, err := s.Signup(ctx, Request{ID: "initech", Tier: "small", Cloud: "local"}, "tenant-initech", "abcdef012345", Mutation{WebhookID: "msg_2"}, q.enqueue); err == nil {
		t.Fatal("signup succeeded without its job")
	}
	if _, err := s.Get(ctx, "initech"); !errors.Is(err, ErrNotFound) {
		t.Fatal("initech was recorded without a job")
	}
	q.fail = nil
	// ... and its webhook id was not spent: the sender's retry goes through.
	if _, started, err := s.Signup(ctx, Request{ID: "initech", Tier: "small", Cloud: "local"}, "tenant-initech", "abcdef012345", Mutation{WebhookID: "msg_2"}, q.enqueue); err != nil || !started {
		t.Fatalf("retry after a failed enqueue: started=%v err=%v", started, err)
	}
}

func TestDeleteSupersedesAndGenerationsGuardUpdates(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, q := newStore(t), &fakeQueue{}
	req := Request{ID: "acme", Tier: "small", Cloud: "local"}
	if _, _, err := s.Signup(ctx, req, "tenant-acme", "abcdef012345", Mutation{}, q.enqueue); err != nil {
		t.Fatal(err)
	}
	del, started, err := s.Delete(ctx, "acme", DeleteOptions{Force: true}, Mutation{}, q.enqueue)
	if err != nil || !started || del.State != StateDeprovisioning || del.Generation != 2 || del.Desired != DesiredAbsent {
		t.Fatalf("delete: %+v started=%v err=%v", del, started, err)
	}
	// The provisioning job of generation 1 finishing late changes nothing.
	if applied, err := s.Update(ctx, "acme", 1, Progress{State: StateReady, Ready: true}); err != nil || applied {
		t.Fatalf("a superseded job's update applied=%v err=%v", applied, err)
	}
	if _, started, err := s.Delete(ctx, "acme", DeleteOptions{Force: true}, Mutation{}, q.enqueue); err != nil || started {
		t.Fatalf("the same delete again: started=%v err=%v, want no new job", started, err)
	}
	var conflict *ConflictError
	if _, _, err := s.Signup(ctx, req, "tenant-acme", "abcdef012345", Mutation{}, q.enqueue); !errors.As(err, &conflict) || conflict.Field != "id" {
		t.Fatalf("signup while being deleted: %v, want a conflict naming id", err)
	}
	if applied, err := s.Update(ctx, "acme", 2, Progress{State: StateDeleted, Deleted: true}); err != nil || !applied {
		t.Fatalf("the delete job's update: applied=%v err=%v", applied, err)
	}
	// A deleted tenant signs up again: a new life, a new generation.
	again, started, err := s.Signup(ctx, req, "tenant-acme", "abcdef012345", Mutation{}, q.enqueue)
	if err != nil || !started || again.Generation != 3 || again.State != StateQueued || again.DeletedAt != nil {
		t.Fatalf("signup after delete: %+v started=%v err=%v", again, started, err)
	}
	if got := len(q.jobs); got != 3 {
		t.Fatalf("%d jobs queued, want 3 (signup, delete, signup)", got)
	}
	evs, err := s.Events(ctx, "acme", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, e := range evs {
		states = append(states, string(e.Data))
	}
	if len(evs) != 4 { // queued, deprovisioning, deleted, queued
		t.Fatalf("events: %v", states)
	}
	if later, _ := s.Events(ctx, "acme", evs[1].Seq, 100); len(later) != 2 || later[0].Seq != evs[2].Seq {
		t.Fatalf("events after seq %d: %v", evs[1].Seq, later)
	}
}

func TestLeases(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, q := newStore(t), &fakeQueue{}
	if _, _, err := s.Signup(ctx, Request{ID: "acme", Tier: "small", Cloud: "local"}, "tenant-acme", "abcdef012345", Mutation{}, q.enqueue); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.AcquireLease(ctx, "acme", "r1/a", time.Minute); err != nil || !ok {
		t.Fatalf("first lease: %v %v", ok, err)
	}
	if ok, _ := s.AcquireLease(ctx, "acme", "r2/b", time.Minute); ok {
		t.Fatal("a second owner took a live lease")
	}
	if ok, _ := s.RenewLease(ctx, "acme", "r2/b", time.Minute); ok {
		t.Fatal("a non-owner renewed the lease")
	}
	// r1's process dies; its next process releases what it held.
	if ids, err := s.ReleaseLeasesOf(ctx, "r1/"); err != nil || len(ids) != 1 || ids[0] != "acme" {
		t.Fatalf("release the dead process's leases: %v %v", ids, err)
	}
	if orphans, err := s.Unsettled(ctx); err != nil || len(orphans) != 1 {
		t.Fatalf("unsettled tenants with a free lease: %v %v", orphans, err)
	}
	if ok, _ := s.AcquireLease(ctx, "acme", "r2/b", 10*time.Millisecond); !ok {
		t.Fatal("the released lease could not be taken")
	}
	time.Sleep(20 * time.Millisecond)
	if ok, _ := s.AcquireLease(ctx, "acme", "r3/c", time.Minute); !ok {
		t.Fatal("an expired lease could not be taken")
	}
	if err := s.ReleaseLease(ctx, "acme", "r3/c"); err != nil {
		t.Fatal(err)
	}
}

// TestMigrateAddsTheWebhookColumnsToAnOlderDatabase opens a job database
// made before webhook messages recorded their request: Migrate adds the
// columns, keeps the ids it holds, and runs again without change.
func TestMigrateAddsTheWebhookColumnsToAnOlderDatabase(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	old, err := OpenStore(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.DB.ExecContext(ctx, `CREATE TABLE tenantfleet_webhook_message (id TEXT PRIMARY KEY, received_at BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := old.DB.ExecContext(ctx, `INSERT INTO tenantfleet_webhook_message (id, received_at) VALUES ('msg_old', 1)`); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := OpenStore(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Errorf("close the store: %v", err)
		}
	}()
	for i := 0; i < 2; i++ {
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("migrate #%d: %v", i+1, err)
		}
	}
	var tenant, hash string
	if err := s.DB.QueryRowContext(ctx, `SELECT tenant_id, request_hash FROM tenantfleet_webhook_message WHERE id = 'msg_old'`).Scan(&tenant, &hash); err != nil {
		t.Fatalf("the old message after migrating: %v", err)
	}
	if tenant != "" || hash != "" {
		t.Errorf("old message migrated as tenant %q, request %q; want both empty", tenant, hash)
	}
}
