package naming

// PostgresKeywords are the words PostgreSQL reserves: its RESERVED_KEYWORD
// and TYPE_FUNC_NAME_KEYWORD entries (postgres/postgres
// src/include/parser/kwlist.h, REL_16; the "reserved" and "reserved (can be
// function or type)" rows of the manual's Appendix C, "SQL Key Words").
// They cannot name a role or database without quoting, and the managed
// services refuse them as master user and database names (RDS: "can't be a
// reserved word for the chosen database engine", CreateDBInstance
// MasterUsername and DBName). A test compares the list with a real server's
// pg_get_keywords().
var PostgresKeywords = []string{
	"all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric",
	"authorization", "binary", "both", "case", "cast", "check", "collate", "collation",
	"column", "concurrently", "constraint", "create", "cross", "current_catalog",
	"current_date", "current_role", "current_schema", "current_time", "current_timestamp",
	"current_user", "default", "deferrable", "desc", "distinct", "do", "else", "end",
	"except", "false", "fetch", "for", "foreign", "freeze", "from", "full", "grant",
	"group", "having", "ilike", "in", "initially", "inner", "intersect", "into", "is",
	"isnull", "join", "lateral", "leading", "left", "like", "limit", "localtime",
	"localtimestamp", "natural", "not", "notnull", "null", "offset", "on", "only", "or",
	"order", "outer", "overlaps", "placing", "primary", "references", "returning", "right",
	"select", "session_user", "similar", "some", "symmetric", "system_user", "table",
	"tablesample", "then", "to", "trailing", "true", "union", "unique", "user", "using",
	"variadic", "verbose", "when", "where", "window", "with",
}
