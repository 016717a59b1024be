package gcp

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/tenantfleet/tenantfleet/components"
)

func TestFilterExpressionQuotes(t *testing.T) {
	t.Parallel()

	got := filterExpression(&components.FilterSpec{Attribute: "event_type", Values: []string{"invoice.paid", `say "hi" \o/`}})
	want := `attributes.event_type = "invoice.paid" OR attributes.event_type = "say \"hi\" \\o/"`
	if got != want {
		t.Errorf("filterExpression = %s, want %s: quotes and backslashes must not break out of their literals", got, want)
	}
}

// TestRelaySource checks the relay workflow's shape: the topic and filter
// are data, the publish step retries, and no step runs the filter without one.
func TestRelaySource(t *testing.T) {
	t.Parallel()

	const topic = "projects/p/topics/t"
	type step = map[string]map[string]any
	parse := func(t *testing.T, src string) []step {
		t.Helper()
		var doc struct {
			Main struct {
				Params []string
				Steps  []step
			}
		}
		if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
			t.Fatalf("the source is not YAML: %v\n%s", err, src)
		}
		if len(doc.Main.Params) != 1 || doc.Main.Params[0] != "event" {
			t.Errorf("params = %v, want [event]: Eventarc passes the event as the only argument", doc.Main.Params)
		}
		return doc.Main.Steps
	}
	names := func(steps []step) string {
		var out []string
		for _, s := range steps {
			for k := range s {
				out = append(out, k)
			}
		}
		return strings.Join(out, ",")
	}

	src, err := relaySource(topic, nil)
	if err != nil {
		t.Fatal(err)
	}
	steps := parse(t, src)
	if got := names(steps); got != "read,publish,done" {
		t.Errorf("steps without a filter = %s, want read,publish,done", got)
	}
	publish := steps[1]["publish"]
	if publish["retry"] != "${http.default_retry}" {
		t.Errorf("publish retry = %v, want ${http.default_retry}", publish["retry"])
	}
	try, _ := publish["try"].(map[string]any)
	args, _ := try["args"].(map[string]any)
	if try["call"] != publishConnector || args["topic"] != topic {
		t.Errorf("publish step = %v, want a call of %s to %s", try, publishConnector, topic)
	}

	src, err = relaySource(topic, &components.FilterSpec{Attribute: "event_type", Values: []string{"a: b", "'c'"}})
	if err != nil {
		t.Fatal(err)
	}
	steps = parse(t, src)
	if got := names(steps); got != "read,filter,match,publish,done" {
		t.Errorf("steps with a filter = %s, want read,filter,match,publish,done", got)
	}
	assign, _ := steps[1]["filter"]["assign"].([]any)
	if len(assign) != 2 {
		t.Fatalf("filter assigns %v, want the attribute and the accepted values", assign)
	}
	if accepted, _ := assign[1].(map[string]any)["accepted"].([]any); len(accepted) != 2 || accepted[0] != "a: b" || accepted[1] != "'c'" {
		t.Errorf("accepted values = %v, want the filter's values verbatim, as YAML data", accepted)
	}
}
