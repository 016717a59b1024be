package naming

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"
)

// HashLength is the number of hex characters appended when a name is shaped lossily.
const HashLength = 8

// Rule is one cloud's naming rule for one kind of resource.
type Rule struct {
	// MaxLen is the longest name the cloud accepts.
	MaxLen int
	// Sep joins the parts and replaces characters the cloud does not allow.
	// Empty means parts are concatenated and bad characters dropped.
	Sep string
	// Extra lists characters allowed besides ASCII letters and digits.
	Extra string
	// Lower folds the name to lowercase (and allows no uppercase).
	Lower bool
	// StartLetter requires the first character to be a letter.
	StartLetter bool
	// Reserved lists names the cloud refuses (compared without regard to
	// case): a name that would be one gets the hash suffix instead.
	Reserved []string
	// ForbiddenPrefixes lists prefixes the cloud refuses (compared with case,
	// "sg-" for AWS security groups): a name starting with one is prefixed
	// with "x" and gets the hash suffix.
	ForbiddenPrefixes []string
}

// Name joins parts under the rule. When the joined input already satisfies
// the rule it is returned as is; otherwise it is sanitized, truncated to make
// room, and suffixed with a hash of the unshaped input, so shaping never maps
// two inputs onto one name.
func (r Rule) Name(parts ...string) string {
	raw := strings.Join(parts, r.Sep)
	clean := r.sanitize(raw)
	if clean == raw && len(clean) <= r.MaxLen && !r.refused(clean) {
		return clean
	}
	hash := rawHash(raw)
	keep := r.MaxLen - HashLength - len(r.Sep)
	if keep < 1 {
		return hash[:min(len(hash), r.MaxLen)]
	}
	if len(clean) > keep {
		clean = clean[:keep]
	}
	clean = strings.TrimRight(clean, r.Sep+r.Extra)
	if clean == "" {
		return r.startFix(hash)
	}
	return r.prefixFix(clean, keep) + r.Sep + hash
}

// Unique is for names that must be unique account-wide: it always appends a
// hash of the parts taken separately, so parts that contain the separator
// cannot alias ("prod"+"eu-acme" and "prod-eu"+"acme" differ), and the
// readable prefix is shaped and truncated to fit.
func (r Rule) Unique(parts ...string) string {
	hash := rawHash(strings.Join(parts, "\x00"))
	keep := r.MaxLen - HashLength - len(r.Sep)
	clean := r.sanitize(strings.Join(parts, r.Sep))
	if len(clean) > keep {
		clean = clean[:max(keep, 0)]
	}
	clean = strings.TrimRight(clean, r.Sep+r.Extra)
	if clean == "" {
		return r.startFix(hash)[:min(r.MaxLen, HashLength)]
	}
	return r.prefixFix(clean, keep) + r.Sep + hash
}

// refused reports whether the cloud refuses name outright: a reserved word
// or a forbidden prefix.
func (r Rule) refused(name string) bool {
	lower := strings.ToLower(name)
	for _, w := range r.Reserved {
		if lower == strings.ToLower(w) {
			return true
		}
	}
	return r.forbiddenPrefix(name)
}

// forbiddenPrefix compares with case, as the providers do (terraform-provider-aws
// `^sg-`, `^internal-`; PostgreSQL's "pg_"): a name another case of a
// prefix would only be shaped if a provider said so.
func (r Rule) forbiddenPrefix(name string) bool {
	for _, p := range r.ForbiddenPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// prefixFix puts "x" before a name that starts with a forbidden prefix,
// keeping it within keep characters.
func (r Rule) prefixFix(s string, keep int) string {
	if !r.forbiddenPrefix(s) {
		return s
	}
	s = "x" + s
	if len(s) > keep {
		s = strings.TrimRight(s[:keep], r.Sep+r.Extra)
	}
	return s
}

func (r Rule) sanitize(s string) string {
	if r.Lower {
		s = strings.ToLower(s)
	}
	var b strings.Builder
	for _, c := range s {
		switch {
		case c < unicode.MaxASCII && (unicode.IsLetter(c) || unicode.IsDigit(c)):
			b.WriteRune(c)
		case strings.ContainsRune(r.Extra, c) || (r.Sep != "" && string(c) == r.Sep):
			b.WriteRune(c)
		default:
			b.WriteString(r.Sep)
		}
	}
	out := b.String()
	if r.Sep != "" {
		for strings.Contains(out, r.Sep+r.Sep) {
			out = strings.ReplaceAll(out, r.Sep+r.Sep, r.Sep)
		}
		out = strings.Trim(out, r.Sep)
	}
	return r.startFix(out)
}

// startFix prefixes "x" when the rule needs a leading letter and s lacks one.
func (r Rule) startFix(s string) string {
	if r.StartLetter && (s == "" || !unicode.IsLetter(rune(s[0]))) {
		return "x" + s
	}
	return s
}

// rawHash is the first HashLength hex characters of the SHA-256 of s.
func rawHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:HashLength]
}
