package pricing

// localPrices: everything the local adapter (providers/local) registers runs
// on this machine and costs $0.
var localPrices = priceTable{TypePrefix: "tenantfleet-local:", Types: localTypes()}

func localTypes() map[string]TypeInfo {
	const note = "the local cloud runs on this machine: $0"
	types := map[string]TypeInfo{}
	for _, t := range []string{
		"tenantfleet-local:index:Database", "tenantfleet-local:index:Queue", "tenantfleet-local:index:Topic",
		"tenantfleet-local:index:Subscription", "tenantfleet-local:index:Process",
	} {
		types[t] = TypeInfo{Kind: Local, Note: note}
	}
	return types
}
