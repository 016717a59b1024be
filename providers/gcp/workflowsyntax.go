package gcp

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// workflowSyntax returns what in a Workflows source lies outside the
// syntax Google documents (https://cloud.google.com/workflows/docs/reference/syntax),
// or nil. It knows the part of the grammar tenantfleet writes, and refuses
// the rest, so a construct the reference does not show fails here rather
// than at deploy time:
//
//   - the source is a map of subworkflows, each with steps and optional
//     params, one of them main (Subworkflows);
//   - a step is a one-key map of its name to a body of exactly one kind:
//     assign (a list of one-key maps; Variables), call with args and result
//     (Calls), switch (Conditions), steps (Steps), try with retry and except
//     (Retries, Errors), return or raise; assign, call, switch and steps may
//     carry next (Jumps), and next names a step of the same subworkflow or end;
//   - a switch condition has condition and either next or steps, the two
//     forms the Conditions page shows; at most 50 conditions;
//   - a value containing ${ is one whole expression (Expressions), which
//     calls only the documented functions below and defines no map: maps
//     are defined in assign steps as YAML (Maps).
func workflowSyntax(src string) []string {
	var doc any
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		return []string{"not YAML: " + err.Error()}
	}
	c := &syntaxChecker{}
	subs, ok := doc.(map[string]any)
	if !ok {
		return []string{"the source is not a map of subworkflows"}
	}
	if _, ok := subs["main"]; !ok {
		c.fail("", "no main subworkflow")
	}
	for _, name := range sortedKeys(subs) {
		c.subworkflow(name, subs[name])
	}
	return c.problems
}

// workflowFunctions are the standard library functions and the operators
// written like functions (not) that expressions may call: the built-in
// functions and the modules of https://cloud.google.com/workflows/docs/reference/stdlib/overview
// that tenantfleet uses or might.
var workflowFunctions = []string{
	"default", "double", "int", "keys", "len", "string", "type",
	"map.get", "list.concat", "base64.decode", "base64.encode",
	"json.decode", "json.encode", "json.encode_to_string", "text.decode", "text.encode",
	"not",
}

// workflowRetryPolicies are the predefined retry policies (Retries).
var workflowRetryPolicies = []string{"${http.default_retry}", "${http.default_retry_non_idempotent}"}

type syntaxChecker struct {
	problems []string
	// names are the step names of the subworkflow being checked, for next.
	names []string
	nexts []struct{ at, target string }
}

func (c *syntaxChecker) fail(at, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if at != "" {
		msg = at + ": " + msg
	}
	c.problems = append(c.problems, msg)
}

func (c *syntaxChecker) subworkflow(name string, v any) {
	at := name
	body, ok := v.(map[string]any)
	if !ok {
		c.fail(at, "a subworkflow is a map of params and steps")
		return
	}
	for _, k := range sortedKeys(body) {
		switch k {
		case "params":
			params, ok := body[k].([]any)
			if !ok {
				c.fail(at, "params is not a list")
			}
			for _, p := range params {
				if _, ok := p.(string); !ok {
					c.fail(at, "param %v is not a name", p)
				}
			}
		case "steps":
		default:
			c.fail(at, "%q is not a key of a subworkflow (params, steps)", k)
		}
	}
	c.names, c.nexts = nil, nil
	c.steps(at, body["steps"])
	for _, n := range c.nexts {
		if n.target != "end" && !slices.Contains(c.names, n.target) {
			c.fail(n.at, "next names %q, which is no step of %s", n.target, name)
		}
	}
}

func (c *syntaxChecker) steps(at string, v any) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		c.fail(at, "steps is not a non-empty list")
		return
	}
	for i, s := range list {
		m, ok := s.(map[string]any)
		if !ok || len(m) != 1 {
			c.fail(fmt.Sprintf("%s[%d]", at, i), "a step is a map of one name to its body")
			continue
		}
		for name, body := range m {
			c.names = append(c.names, name)
			c.step(at+"."+name, body)
		}
	}
}

// stepKinds maps each kind of step to the other keys its body may carry.
var stepKinds = map[string][]string{
	"assign": {"next"},
	"call":   {"args", "result", "next"},
	"switch": {"next"},
	"steps":  {"next"},
	"try":    {"retry", "except"},
	"return": nil,
	"raise":  nil,
}

func (c *syntaxChecker) step(at string, v any) {
	body, ok := v.(map[string]any)
	if !ok {
		c.fail(at, "a step body is a map")
		return
	}
	var kinds []string
	for k := range body {
		if _, ok := stepKinds[k]; ok {
			kinds = append(kinds, k)
		}
	}
	sort.Strings(kinds)
	if len(kinds) != 1 {
		c.fail(at, "a step has exactly one of assign, call, raise, return, steps, switch, try (has %v)", kinds)
		return
	}
	kind := kinds[0]
	for _, k := range sortedKeys(body) {
		if k != kind && !slices.Contains(stepKinds[kind], k) {
			c.fail(at, "%q is not a key of a %s step", k, kind)
		}
	}
	if n, ok := body["next"]; ok {
		c.next(at, n)
	}
	switch kind {
	case "assign":
		list, ok := body[kind].([]any)
		if !ok || len(list) == 0 {
			c.fail(at, "assign is not a non-empty list")
			return
		}
		for i, a := range list {
			m, ok := a.(map[string]any)
			if !ok || len(m) != 1 {
				c.fail(fmt.Sprintf("%s.assign[%d]", at, i), "an assignment is a map of one variable to its value")
				continue
			}
			for name, value := range m {
				c.value(fmt.Sprintf("%s.assign[%d].%s", at, i, name), value)
			}
		}
	case "call":
		if s, ok := body[kind].(string); !ok || s == "" || strings.Contains(s, "${") {
			c.fail(at, "call names a function, subworkflow or connector")
		}
		if args, ok := body["args"]; ok {
			if _, ok := args.(map[string]any); !ok {
				c.fail(at, "args is not a map")
			}
			c.value(at+".args", args)
		}
		if r, ok := body["result"]; ok {
			if _, ok := r.(string); !ok {
				c.fail(at, "result is not a variable name")
			}
		}
	case "switch":
		c.switchConditions(at, body[kind])
	case "steps":
		c.steps(at+".steps", body[kind])
	case "try":
		c.try(at, body)
	case "return", "raise":
		c.value(at+"."+kind, body[kind])
	}
}

func (c *syntaxChecker) next(at string, v any) {
	s, ok := v.(string)
	if !ok || s == "" {
		c.fail(at, "next is not a step name")
		return
	}
	c.nexts = append(c.nexts, struct{ at, target string }{at, s})
}

func (c *syntaxChecker) switchConditions(at string, v any) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		c.fail(at, "switch is not a non-empty list of conditions")
		return
	}
	if len(list) > 50 {
		c.fail(at, "a switch has %d conditions, at most 50", len(list))
	}
	for i, e := range list {
		cat := fmt.Sprintf("%s.switch[%d]", at, i)
		cond, ok := e.(map[string]any)
		if !ok {
			c.fail(cat, "a condition is a map")
			continue
		}
		switch x := cond["condition"].(type) {
		case bool:
			if !x {
				c.fail(cat, "condition false never matches")
			}
		case string:
			if !isExpression(x) {
				c.fail(cat, "condition %q is not an expression", x)
			}
			c.value(cat+".condition", x)
		default:
			c.fail(cat, "a condition needs condition: an expression or true")
		}
		_, hasNext := cond["next"]
		_, hasSteps := cond["steps"]
		for _, k := range sortedKeys(cond) {
			if k != "condition" && k != "next" && k != "steps" {
				c.fail(cat, "%q is not a key of a switch condition (condition with next or steps)", k)
			}
		}
		switch {
		case hasNext && hasSteps:
			c.fail(cat, "a condition has next or steps, not both")
		case hasNext:
			c.next(cat, cond["next"])
		case hasSteps:
			c.steps(cat+".steps", cond["steps"])
		default:
			c.fail(cat, "a condition has next or steps")
		}
	}
}

func (c *syntaxChecker) try(at string, body map[string]any) {
	t, ok := body["try"].(map[string]any)
	if !ok {
		c.fail(at, "try is not a step body")
		return
	}
	if _, ok := t["steps"]; ok {
		if len(t) != 1 {
			c.fail(at, "try holds steps or one call")
		}
		c.steps(at+".try.steps", t["steps"])
	} else {
		if _, ok := t["call"]; !ok {
			c.fail(at, "try holds steps or one call")
		}
		for _, k := range sortedKeys(t) {
			if k != "call" && k != "args" && k != "result" {
				c.fail(at, "%q is not a key of a try call", k)
			}
		}
		c.step(at+".try", t)
	}
	if r, ok := body["retry"]; ok {
		switch r := r.(type) {
		case string:
			if !slices.Contains(workflowRetryPolicies, r) {
				c.fail(at, "retry %q is not a predefined retry policy", r)
			}
		case map[string]any:
			for _, k := range sortedKeys(r) {
				if k != "predicate" && k != "max_retries" && k != "backoff" {
					c.fail(at, "%q is not a key of a retry policy", k)
				}
			}
		default:
			c.fail(at, "retry is not a policy")
		}
	}
	if e, ok := body["except"]; ok {
		m, ok := e.(map[string]any)
		if !ok {
			c.fail(at, "except is not a map of as and steps")
			return
		}
		for _, k := range sortedKeys(m) {
			if k != "as" && k != "steps" {
				c.fail(at, "%q is not a key of except (as, steps)", k)
			}
		}
		c.steps(at+".except.steps", m["steps"])
	}
}

// value checks data: every string (and map key) holding ${ must be one
// whole expression, and each expression must keep to the documented grammar.
func (c *syntaxChecker) value(at string, v any) {
	switch v := v.(type) {
	case string:
		c.expressionIn(at, v)
	case map[string]any:
		for _, k := range sortedKeys(v) {
			c.expressionIn(at, k)
			c.value(at+"."+k, v[k])
		}
	case []any:
		for i, e := range v {
			c.value(fmt.Sprintf("%s[%d]", at, i), e)
		}
	}
}

func isExpression(s string) bool { return strings.HasPrefix(s, "${") && strings.HasSuffix(s, "}") }

func (c *syntaxChecker) expressionIn(at, s string) {
	if !strings.Contains(s, "${") {
		return
	}
	if !isExpression(s) {
		c.fail(at, "%q mixes text and an expression: an expression is the whole value", s)
		return
	}
	for _, p := range expressionProblems(s[2 : len(s)-1]) {
		c.fail(at, "%s in %s", p, s)
	}
}

// expressionProblems scans an expression's body outside string literals:
// braces would be a map literal, which the expression grammar does not have,
// and every call must be of a documented function.
func expressionProblems(expr string) []string {
	var out []string
	var code strings.Builder
	for i := 0; i < len(expr); i++ {
		ch := expr[i]
		if ch == '"' || ch == '\'' {
			// Skip the literal, honouring backslash escapes.
			for i++; i < len(expr) && expr[i] != ch; i++ {
				if expr[i] == '\\' {
					i++
				}
			}
			code.WriteString(`""`)
			continue
		}
		code.WriteByte(ch)
	}
	body := code.String()
	if strings.ContainsAny(body, "{}") {
		out = append(out, "a map literal (braces) inside an expression")
	}
	for i := 0; i < len(body); i++ {
		if body[i] != '(' {
			continue
		}
		j := i
		for j > 0 && body[j-1] == ' ' {
			j--
		}
		k := j
		for k > 0 && (isIdent(body[k-1]) || body[k-1] == '.') {
			k--
		}
		if name := body[k:j]; name != "" && !slices.Contains(workflowFunctions, name) {
			out = append(out, fmt.Sprintf("%s() is not a documented function", name))
		}
	}
	return out
}

func isIdent(b byte) bool {
	return b == '_' || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9')
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
