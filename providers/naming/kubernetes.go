package naming

import (
	"regexp"
	"strings"
)

// Kubernetes holds the Kubernetes adapter's naming rules: every object it
// names is a DNS-1123 label (lowercase letters, digits and '-', starting
// and ending alphanumeric, at most 63 characters:
// k8s.io/apimachinery/pkg/util/validation IsDNS1123Label, which namespaces,
// Services and the CloudNativePG cluster's own Services require). The
// RabbitMQ queues, exchanges and users it declares are named the same way,
// so each is also its custom resource's name.
var Kubernetes = struct {
	Namespace, Host Rule
	// Queue names a queue's RabbitMQ queue, exchange, user and policy, and
	// their objects: at most 48 characters, leaving room for the
	// "-dead-letter" of the dead-letter queue's object (and, in RabbitMQ,
	// ".dead-letter") within a label's 63.
	Queue Rule
	// Database names the tenant's PostgreSQL database and its owner role.
	Database Rule
}{
	Namespace: Rule{MaxLen: 63, Sep: "-", Lower: true, StartLetter: true},
	Queue:     Rule{MaxLen: 48, Sep: "-", Lower: true, StartLetter: true},
	// Host is the first label of a web app's host name under the base domain.
	Host: Rule{MaxLen: 63, Sep: "-", Lower: true, StartLetter: true},
	// A plain identifier PostgreSQL needs no quotes for, never a keyword:
	// the adapter names it app_<tenant>.
	Database: Rule{MaxLen: 63, Sep: "_", Lower: true, StartLetter: true},
}

// labelValue is what Kubernetes accepts as a label value
// (k8s.io/apimachinery/pkg/util/validation IsValidLabelValue): at most 63
// characters of alphanumerics, '-', '_' and '.', starting and ending
// alphanumeric, or empty.
var labelValue = regexp.MustCompile(`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`)

// kubernetesLabelValue shapes values that are not label values.
var kubernetesLabelValue = Rule{MaxLen: 63, Sep: "-", Extra: "_."}

// KubernetesLabelValue returns v as a Kubernetes label value: v itself when
// it is one, else v shaped (invalid characters replaced, truncated) with a
// hash of v appended, so two values never share a label.
func KubernetesLabelValue(v string) string {
	if IsKubernetesLabelValue(v) {
		return v
	}
	// Unique ends in its hash; a leading '.' or '_' kept from v is trimmed.
	return strings.TrimLeft(kubernetesLabelValue.Unique(v), "._")
}

// IsKubernetesLabelValue reports whether v is a valid label value.
func IsKubernetesLabelValue(v string) bool { return len(v) <= 63 && labelValue.MatchString(v) }
