package gcp

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/tenantfleet/tenantfleet/components"
	"github.com/tenantfleet/tenantfleet/providers/rules"
)

// oldRelaySource is the relay workflow as relaySource wrote it before the
// fix, for a filtered subscriber: a map literal inside an expression and a
// return directly inside switch conditions, neither of which the Workflows
// syntax reference documents.
const oldRelaySource = `main:
    params:
        - event
    steps:
        - read:
            assign:
                - message: ${event.data.message}
                - attributes: ${default(map.get(message, "attributes"), {})}
        - filter:
            assign:
                - attribute: event_type
                - accepted:
                    - invoice.paid
        - match:
            switch:
                - condition: ${not(attribute in attributes)}
                  return: filtered out
                - condition: ${not(attributes[attribute] in accepted)}
                  return: filtered out
        - publish:
            retry: ${http.default_retry}
            try:
                args:
                    body:
                        messages:
                            - attributes: ${attributes}
                              data: ${default(map.get(message, "data"), "")}
                    topic: projects/p/topics/t
                call: googleapis.pubsub.v1.projects.topics.publish
                result: published
        - done:
            return: ${published.messageIds}
`

// TestRelaySourceKeepsToTheSyntaxReference parses every relay workflow the
// adapter writes and checks it against the documented grammar.
func TestRelaySourceKeepsToTheSyntaxReference(t *testing.T) {
	t.Parallel()

	filters := []struct {
		filter *components.FilterSpec
		reason string
	}{
		{nil, "no filter: read, publish, done"},
		{&components.FilterSpec{Attribute: "event_type", Values: []string{"invoice.paid", "invoice.failed"}}, "a filter adds an assign and a switch"},
		{&components.FilterSpec{Attribute: "t", Values: []string{"{}", "a: b", `"quoted" \ {x}`, "'c'"}}, "values that look like YAML or braces stay data"},
	}
	for _, tc := range filters {
		src, err := relaySource("projects/p/topics/t", tc.filter)
		if err != nil {
			t.Fatal(err)
		}
		if problems := workflowSyntax(src); len(problems) > 0 {
			t.Errorf("relay source (%s) leaves the documented syntax:\n  %s\n%s", tc.reason, strings.Join(problems, "\n  "), src)
		}
	}
}

// TestWorkflowSyntax shows the grammar check accepts the reference's own
// samples and refuses what the reference does not document, the old relay
// source first.
func TestWorkflowSyntax(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name, src string
		want      []string // substrings of the problems; none: accepted
		reason    string
	}{
		{"old relay source", oldRelaySource, []string{
			"main.read.assign[1].attributes: a map literal (braces) inside an expression",
			`main.match.switch[0]: "return" is not a key of a switch condition`,
			`main.match.switch[1]: "return" is not a key of a switch condition`,
		}, "the defect: {} in an expression and return in a switch condition"},
		{"embedded switch sample", `main:
  steps:
    - step1:
        assign:
          - a: 1
    - step2:
        switch:
          - condition: ${a==1}
            steps:
              - stepA:
                  assign:
                    - a: ${a+7}
              - stepB:
                  return: ${"increase a to:"+string(a)}
    - step3:
        return: ${"default a="+string(a)}
`, nil, "Google's workflows-step-switch-embedded sample"},
		{"conditional jump sample", `main:
  steps:
    - first:
        assign:
          - n: 42
    - where_to_jump:
        switch:
          - condition: ${n < 10}
            next: small
          - condition: true
            next: large
        next: large
    - small:
        return: "small"
    - large:
        return: "large"
`, nil, "the Conditions page's jump form, with the default condition true"},
		{"map operations sample", `main:
  steps:
    - map_ops:
        assign:
          - my_map: {"Key1": "hello"}
          - key_exists: ${"Key1" in my_map}
          - key_list: ${keys(my_map)}
          - key_is_null: ${default(map.get(my_map, "Key1"), "Couldn't find key!")}
          - braces_in_text: ${"{" + my_map.Key1 + "}"}
    - done:
        return: ${my_map}
`, nil, "the syntax cheat sheet's maps: defined in assign, braces inside string literals are text"},
		{"unknown step kind", "main:\n  steps:\n    - a:\n        if: ${true}\n", []string{"exactly one of"}, "if is no step kind"},
		{"two kinds in a step", "main:\n  steps:\n    - a:\n        assign:\n          - x: 1\n        return: ${x}\n", []string{"exactly one of"}, "a step is one kind"},
		{"condition without a branch", "main:\n  steps:\n    - a:\n        switch:\n          - condition: ${true}\n", []string{"a condition has next or steps"}, "a condition must lead somewhere"},
		{"next to no step", "main:\n  steps:\n    - a:\n        assign:\n          - x: 1\n        next: nowhere\n", []string{`next names "nowhere"`}, "jumps name a step or end"},
		{"text around an expression", "main:\n  steps:\n    - a:\n        return: 'id ${x}'\n", []string{"mixes text and an expression"}, "no string interpolation"},
		{"undocumented function", "main:\n  steps:\n    - a:\n        return: ${lower(x)}\n", []string{"lower() is not a documented function"}, "only standard library functions"},
		{"map literal in an expression", "main:\n  steps:\n    - a:\n        return: '${default(x, {\"k\": 1})}'\n", []string{"map literal"}, "maps are defined in assign steps"},
		{"unknown retry policy", "main:\n  steps:\n    - a:\n        try:\n          call: http.get\n          args:\n            url: https://example.com\n        retry: ${http.always}\n", []string{"not a predefined retry policy"}, "retry names a predefined policy or spells one out"},
		{"no main", "other:\n  steps:\n    - a:\n        return: 1\n", []string{"no main subworkflow"}, "execution starts at main"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			got := workflowSyntax(tc.src)
			if len(tc.want) == 0 && len(got) > 0 {
				t.Errorf("refused (%s):\n  %s", tc.reason, strings.Join(got, "\n  "))
			}
			joined := strings.Join(got, "\n")
			for _, w := range tc.want {
				if !strings.Contains(joined, w) {
					t.Errorf("problems %q lack %q (%s)", got, w, tc.reason)
				}
			}
		})
	}
}

// TestWorkflowRuleJudgesTheSource checks the provider rule on sourceContents
// runs the grammar check: the old relay source is a violation, the new one not.
func TestWorkflowRuleJudgesTheSource(t *testing.T) {
	t.Parallel()

	inputs := func(src string) resource.PropertyMap {
		return resource.PropertyMap{"name": resource.NewStringProperty("relay"), "sourceContents": resource.NewStringProperty(src)}
	}
	if v := rules.Evaluate(Rules, typeWorkflow, inputs(oldRelaySource)); len(v) == 0 {
		t.Error("the old relay source passes the Workflows rules, want a violation")
	}
	src, err := relaySource("projects/p/topics/t", &components.FilterSpec{Attribute: "event_type", Values: []string{"invoice.paid"}})
	if err != nil {
		t.Fatal(err)
	}
	if v := rules.Evaluate(Rules, typeWorkflow, inputs(src)); len(v) > 0 {
		t.Errorf("the relay source breaks the Workflows rules: %v", v)
	}
}
