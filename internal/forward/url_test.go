package forward

import (
	"strings"
	"testing"
)

// TestParseURLIsTheForwardersView checks what ParseURL adds to the shared
// parser (queue.ParseKafkaURL): a work queue consumer's parameters are
// refused, and a password in the URL is sent to FORWARD_PASSWORD.
func TestParseURLIsTheForwardersView(t *testing.T) {
	t.Parallel()

	for _, tc := range []struct{ raw, want string }{
		{"kafka://u@h:1/t?group=g&maxReceiveCount=5", `"maxReceiveCount" is a work queue consumer's`},
		{"kafka://u@h:1/t?group=g&visibilityTimeout=30s", `"visibilityTimeout" is a work queue consumer's`},
		{"kafka://u:" + testPassword + "@h:1/t", "give only the user, the password belongs in " + EnvPassword},
	} {
		_, err := ParseURL(tc.raw)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseURL(%q): %v, want an error saying %q", tc.raw, err, tc.want)
		}
		if err != nil {
			assertNoPassword(t, "error", err.Error())
		}
	}
}
