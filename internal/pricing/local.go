package pricing

func init() {
	const note = "the local cloud runs on this machine: $0"
	types := map[string]TypeInfo{}
	for _, t := range []string{
		"tenantfleet-local:index:Database", "tenantfleet-local:index:Queue", "tenantfleet-local:index:Topic",
		"tenantfleet-local:index:Subscription", "tenantfleet-local:index:Process",
	} {
		types[t] = TypeInfo{Kind: Local, Note: note}
	}
	register(&Cloud{Name: "local", TypePrefix: "tenantfleet-local:", Types: types})
}
