package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// isConfigError reports whether an error returned by the stack program is a
// configuration error. stacks.Program validates the whole configuration
// before registering anything and words every such error in one of two ways,
// which is the contract relied on here:
//
//   - "invalid stack configuration:" followed by one line per problem, each
//     naming its key (components' validation);
//   - starting with a config key, "tenantfleet:<key>..." (a value that does
//     not decode, tenantfleet:cloud missing or unknown, a cloud's own
//     tenantfleet:<cloud> settings).
//
// A panic from config.Require ("Missing required configuration variable")
// counts as well.
func isConfigError(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "invalid stack configuration") ||
		strings.HasPrefix(msg, "tenantfleet:") ||
		strings.Contains(msg, "Missing required configuration variable")
}

// Engine messages (of the pulumi CLI or of auto) that mean the
// configuration or the environment is wrong rather than the operation failing.
var engineUsageErrors = []string{
	"failed to load project settings",   // a bad Pulumi.yaml (auto reads it)
	"invalid YAML file",                 // a malformed Pulumi.<stack>.yaml
	"validating stack config:",          // Pulumi.yaml config: type checks
	"could not parse",                   // a malformed Pulumi.<stack>.yaml
	"could not unmarshal",               // a Pulumi.yaml or stack file of the wrong shape
	"incorrect passphrase",              // PULUMI_CONFIG_PASSPHRASE(_FILE) does not match the stack
	"passphrase must be set",            // no passphrase at all
	"unable to read PULUMI_CONFIG_PASS", // PULUMI_CONFIG_PASSPHRASE_FILE unreadable
}

// The pulumi CLI's exit code for --expect-no-changes finding changes
// (pkg/cmd/pulumi/cmd/exit_codes.go ExitNoChanges).
const pulumiExitNoChanges = 7

// classify turns a failed operation into an *Error with a clean message:
//
//   - interrupted: KindFailed;
//   - the program returned a configuration error (isConfigError): its own
//     message, KindUsage;
//   - a resource failed: KindFailed with the engine's errors about resources
//     (the program's error, if any, is then only their consequence, such as
//     a cancelled registration);
//   - the program returned another error: its own message, KindFailed;
//   - the stack is locked by another operation: KindFailed, ErrLocked;
//   - --expect-no-changes and the engine found changes: KindChanges;
//   - engine configuration or passphrase errors: KindUsage;
//   - anything else: KindFailed with the engine's error diagnostics, or the
//     "error:" lines of its output, instead of auto's dump of the whole output.
func (r *stackRun) classify(ctx context.Context, err error, changes map[string]int, diags diagnostics) error {
	var engineErr *Error
	if errors.As(err, &engineErr) {
		return err
	}
	what := fmt.Sprintf("%s of stack %s", r.op, r.opts.Stack)
	// The last command's output, when it is the one that failed (auto also
	// fails on its own, after a successful command, e.g. on a bad Pulumi.yaml).
	last := r.engine.lastResult()
	stderr := StripColor(last.stderr)
	// What auto says (its error embeds the output of the failed command).
	autoSays := StripColor(err.Error())

	if ctx.Err() != nil {
		return failedErrorf("%s interrupted; the engine cancelled it (run `tenantfleet refresh --stack %s` if resources were in flight)",
			what, r.opts.Stack)
	}
	progErr := r.program.get()
	if progErr != nil && isConfigError(progErr) {
		return &Error{Kind: KindUsage, Err: fmt.Errorf("stack %s: %w", r.opts.Stack, progErr)}
	}
	if len(diags.resource) > 0 {
		return failedErrorf("%s failed:\n  %s", what, indentContinuation(strings.Join(dedupe(diags.resource), "\n")))
	}
	if progErr != nil {
		return &Error{Kind: KindFailed, Err: fmt.Errorf("%s failed: %w", what, progErr)}
	}
	if strings.Contains(stderr, "the stack is currently locked by") ||
		strings.Contains(stderr, "Another update is currently in progress") {
		return &Error{Kind: KindFailed, is: ErrLocked, Err: fmt.Errorf("stack %s is locked by another operation; wait for it to finish and retry "+
			"(if it crashed, delete its lock file)%s", r.opts.Stack, lockLines(stderr))}
	}
	if r.opts.ExpectNoChanges && (last.code == pulumiExitNoChanges || HasChanges(changes) ||
		strings.Contains(stderr, "no changes were expected")) {
		return &Error{Kind: KindChanges, Err: fmt.Errorf("%s found changes (%s) and --expect-no-changes was given",
			what, FormatChanges(changes))}
	}
	for _, s := range engineUsageErrors {
		if strings.Contains(autoSays, s) {
			msg := engineErrorLines(stderr)
			if last.code == 0 {
				msg = firstLine(autoSays)
			}
			if strings.Contains(s, "passphrase") {
				msg += "\n  (the passphrase is $" + envPassphrase + ", $" + envPassphraseFile +
					", or the file tenantfleet generated in " + r.env.stateDir + ")"
			}
			return usageErrorf("%s: %s", what, msg)
		}
	}

	msg := strings.Join(specific(dedupe(diags.all)), "\n")
	if msg == "" {
		msg = engineErrorLines(stderr)
	}
	if msg == "" {
		msg = firstLine(err.Error())
	}
	return failedErrorf("%s failed:\n  %s", what, indentContinuation(msg))
}

// engineErrorLines returns the "error: ..." lines of the CLI's output (with
// their continuation lines), without the prefix, dropping the CLI's generic
// follow-ups; or the whole output trimmed when it has none.
func engineErrorLines(stderr string) string {
	var out []string
	inError := false
	for _, line := range strings.Split(stderr, "\n") {
		switch {
		case strings.HasPrefix(line, "error: "):
			inError = true
			out = append(out, strings.TrimPrefix(line, "error: "))
		case inError && strings.HasPrefix(line, "  ") && strings.TrimSpace(line) != "":
			out = append(out, strings.TrimSpace(line))
		default:
			inError = false
		}
	}
	if len(out) == 0 {
		return strings.TrimSpace(stderr)
	}
	return strings.Join(dedupe(out), "\n")
}

// lockLines returns the engine's description of each lock ("<lock file>:
// created by user@host (pid n) at time"), each on its own indented line.
func lockLines(stderr string) string {
	var b strings.Builder
	for _, line := range strings.Split(stderr, "\n") {
		if !strings.Contains(line, ": created by ") {
			continue
		}
		line = strings.TrimSpace(line)
		line = strings.Replace(line, "?no_tmp_dir=true", "", 1)
		line = strings.TrimPrefix(line, "file://")
		b.WriteString("\n  " + line)
	}
	return b.String()
}

// specific drops the engine's closing "update failed" (and the like) when
// the errors that made it fail are there.
func specific(errs []string) []string {
	var out []string
	for _, e := range errs {
		switch e {
		case "update failed", "preview failed", "refresh failed", "destroy failed":
		default:
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return errs
	}
	return out
}

func dedupe(lines []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range lines {
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	return out
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
