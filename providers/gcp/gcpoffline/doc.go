// Package gcpoffline is the offline model of Google Cloud: it answers the
// engine the way Google Cloud would (service accounts' emails, the Cloud SQL
// instance's private address, Cloud Run URLs, secret versions, and the
// project lookup the GCP adapter makes), with no project and no network. The
// offline plan and the tests of anything that runs the GCP adapter use it.
package gcpoffline
