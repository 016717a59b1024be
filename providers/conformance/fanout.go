package conformance

import (
	"strings"

	"github.com/tenantfleet/tenantfleet/components"
)

// checkFanout checks that each subscriber receives in a queue of its own
// (or its tenant's work queue) with a dead-letter queue, that only the topic
// may write to it, and that a cloud without filters refuses one.
func checkFanout(fs *findings, p *Profile, g *Graph, o *outcome) {
	spec := Fanout(p.SupportsFilters)
	queues, dlqs := o.stringMap["queues"], o.stringMap["deadLetters"]
	seenQueue := map[string]string{}
	for _, sub := range spec.Subscribers {
		q, dlq := queues[sub.Name], dlqs[sub.Name]
		if q == "" || dlq == "" || q == dlq {
			fs.add("fanout", "subscriber %s: queue %q and dead-letter queue %q must both exist and differ", sub.Name, q, dlq)
			continue
		}
		if prev, dup := seenQueue[q]; dup {
			fs.add("fanout", "subscribers %s and %s share the queue %s", prev, sub.Name, q)
		}
		seenQueue[q] = sub.Name
		if sub.Tenant != "" && q != o.strings[sub.Tenant+"/queueUrl"] {
			fs.add("fanout", "subscriber %s names tenant %s but receives in %s, not the tenant's queue %s", sub.Name, sub.Tenant, q, o.strings[sub.Tenant+"/queueUrl"])
		}
		for _, problem := range p.SubscriberAccess(g, o.strings["topic"], q, dlq) {
			fs.add("fanout", "subscriber %s: %s", sub.Name, problem)
		}
	}
	if !p.SupportsFilters {
		bad := Fanout(true)
		err := components.ValidateFanout(mustAdapter(p), bad, []string{"acme"})
		if err == nil || !strings.Contains(err.Error(), "subscribers[0].filter") {
			fs.add("invalid", "a filter on a cloud without filters must be refused naming subscribers[0].filter, got %v", err)
		}
	}
}
