package azure

import (
	"strings"
	"testing"

	"github.com/tenantfleet/tenantfleet/components"
)

func TestIsoDuration(t *testing.T) {
	t.Parallel()

	cases := []struct {
		seconds int
		want    string
	}{
		{30, "PT30S"}, {300, "PT300S"}, {86400, "P1D"}, {345600, "P4D"}, {90000, "PT90000S"},
	}
	for _, tc := range cases {
		if got := isoDuration(tc.seconds); got != tc.want {
			t.Errorf("isoDuration(%d) = %q, want %q", tc.seconds, got, tc.want)
		}
	}
}

func TestSQLFilterQuotes(t *testing.T) {
	t.Parallel()

	got := sqlIn("event]type", []string{"invoice.paid", "o'brien"})
	want := "user.[event]]type] IN ('invoice.paid', 'o''brien')"
	if got != want {
		t.Errorf("sqlIn = %q, want %q: quotes and brackets must not break out of their literals", got, want)
	}
}

func TestContainerAppsSize(t *testing.T) {
	t.Parallel()

	cases := []struct {
		cpu, mem int
		field    string
		wantCPU  float64
		wantMem  string
		reason   string
	}{
		{250, 512, "", 0.25, "0.5Gi", "the smallest consumption size"},
		{500, 1024, "", 0.5, "1Gi", "the web default"},
		{4000, 8192, "", 4, "8Gi", "the largest consumption size"},
		{500, 2048, "web.memoryMiB", 0, "", "Container Apps runs exactly 2 GiB per vCPU"},
		{300, 600, "web.cpu", 0, "", "0.25 vCPU steps"},
	}
	for _, tc := range cases {
		cpu, mem, err := containerAppsSize("web", tc.cpu, tc.mem)
		switch {
		case tc.field == "" && (err != nil || cpu != tc.wantCPU || mem != tc.wantMem):
			t.Errorf("%d/%d: got %v %q %v, want %v %q (%s)", tc.cpu, tc.mem, cpu, mem, err, tc.wantCPU, tc.wantMem, tc.reason)
		case tc.field != "" && (err == nil || !strings.Contains(err.Error(), tc.field+":")):
			t.Errorf("%d/%d: got %v, want an error naming %s (%s)", tc.cpu, tc.mem, err, tc.field, tc.reason)
		}
	}
}

func TestStorageRoundsUp(t *testing.T) {
	t.Parallel()

	for in, want := range map[int]int{20: 32, 32: 32, 100: 128, 16384: 16384} {
		if got := storageSize(in); got != want {
			t.Errorf("storageSize(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestValidateFanoutLockLimit(t *testing.T) {
	t.Parallel()

	err := (&Adapter{}).ValidateFanout(components.FanoutSpec{Name: "e", Subscribers: []components.SubscriberSpec{
		{Name: "a", Queue: components.QueueSpec{VisibilityTimeoutSeconds: 301}},
	}})
	if err == nil || !strings.Contains(err.Error(), "subscribers[0].queue.visibilityTimeoutSeconds:") {
		t.Fatalf("got %v, want an error naming subscribers[0].queue.visibilityTimeoutSeconds", err)
	}
}

func TestConfigNeedsLocation(t *testing.T) {
	t.Parallel()

	if _, err := NewWithConfig(Config{}); err == nil || !strings.Contains(err.Error(), "tenantfleet:azure.location:") {
		t.Fatalf("got %v, want an error naming tenantfleet:azure.location", err)
	}
}
