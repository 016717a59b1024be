// Package naming shapes physical resource names and tags to each cloud's
// rules, in one place: length limits, allowed characters, and a stable short
// hash whenever shaping loses information, so two different inputs never
// produce the same name and the same input always produces the same name.
package naming
