package naming

// Local holds the local cloud's naming rules. The runtime accepts names of
// lowercase letters, digits, '-' and '_', at most 63 bytes (see
// internal/localcloud's API), and names files, streams and processes after
// them, so every rule is lowercase and starts with a letter.
var Local = struct {
	Database, Queue, Topic, Subscription, Process Rule
}{
	// The database name is also its PostgreSQL login role and DATABASE_NAME /
	// DATABASE_USER: '_' keeps it a plain identifier that needs no quoting.
	// The runtime refuses PostgreSQL's own names (postgres, template0/1,
	// public, pg_*): the local adapter starts every database name with "db".
	Database: Rule{MaxLen: 63, Sep: "_", Lower: true, StartLetter: true},
	// Queues (with their dead-letter streams) and topics are JetStream streams.
	Queue:        Rule{MaxLen: 63, Sep: "-", Lower: true, StartLetter: true},
	Topic:        Rule{MaxLen: 63, Sep: "-", Lower: true, StartLetter: true},
	Subscription: Rule{MaxLen: 63, Sep: "-", Lower: true, StartLetter: true},
	// Processes name their log files and supervisor entries.
	Process: Rule{MaxLen: 63, Sep: "-", Lower: true, StartLetter: true},
}
