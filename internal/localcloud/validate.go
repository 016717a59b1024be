package localcloud

import (
	"fmt"
	"strings"
)

// maxNameLen is the longest physical name: PostgreSQL's identifier limit.
const maxNameLen = 63

// validateName checks a resource's physical name: lowercase letters,
// digits, '-' and '_', at most 63 bytes.
func validateName(field, name string) error {
	if name == "" {
		return badRequest(field, "must not be empty")
	}
	if len(name) > maxNameLen {
		return badRequest(field, "must be at most %d bytes (got %d: %q)", maxNameLen, len(name), name)
	}
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' && r != '_' {
			return badRequest(field, "must be lowercase letters, digits, - or _ (got %q)", name)
		}
	}
	return nil
}

// reservedDatabaseNames are names PostgreSQL or the runtime itself uses.
var reservedDatabaseNames = map[string]bool{
	"postgres":  true,
	"template0": true,
	"template1": true,
	"public":    true,
}

func validateDatabaseSpec(spec DatabaseSpec) error {
	if err := validateName("name", spec.Name); err != nil {
		return err
	}
	if reservedDatabaseNames[spec.Name] || strings.HasPrefix(spec.Name, "pg_") {
		return badRequest("name", "%q is reserved by PostgreSQL", spec.Name)
	}
	if spec.Password == "" {
		return badRequest("password", "must not be empty")
	}
	if strings.ContainsRune(spec.Password, 0) {
		return badRequest("password", "must not contain a NUL byte")
	}
	return nil
}

func validateQueueSpec(spec QueueSpec) error {
	if err := validateName("name", spec.Name); err != nil {
		return err
	}
	if spec.MaxDeliver < 1 {
		return badRequest("maxDeliver", "must be at least 1 (got %d)", spec.MaxDeliver)
	}
	if spec.AckWaitSeconds < 1 {
		return badRequest("ackWaitSeconds", "must be at least 1 (got %d)", spec.AckWaitSeconds)
	}
	if spec.RetentionSeconds < 1 {
		return badRequest("retentionSeconds", "must be at least 1 (got %d)", spec.RetentionSeconds)
	}
	return nil
}

func validateTopicSpec(spec TopicSpec) error {
	return validateName("name", spec.Name)
}

func validateSubscriptionSpec(spec SubscriptionSpec) error {
	if err := validateName("name", spec.Name); err != nil {
		return err
	}
	if err := validateName("topic", spec.Topic); err != nil {
		return err
	}
	return validateName("queue", spec.Queue)
}

// validateProcessSpec checks what can be checked without the images
// directory; resolveImage checks the rest.
func validateProcessSpec(spec ProcessSpec) error {
	if err := validateName("name", spec.Name); err != nil {
		return err
	}
	if strings.TrimSpace(spec.Image) == "" {
		return badRequest("image", "must not be empty")
	}
	if len(spec.Command) > 0 && spec.Command[0] == "" {
		return badRequest("command[0]", "must not be empty")
	}
	for key, value := range spec.Env {
		if key == "" || strings.ContainsAny(key, "=\x00") {
			return badRequest("env", "invalid variable name %q", key)
		}
		if strings.ContainsRune(value, 0) {
			// The value may be a secret: name the variable only.
			return badRequest(fmt.Sprintf("env.%s", key), "value must not contain a NUL byte")
		}
	}
	return nil
}
