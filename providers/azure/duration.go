package azure

import "fmt"

// isoDuration renders seconds as an ISO 8601 duration (PT90S, P4D), the
// format Service Bus takes for lock durations and time-to-live.
func isoDuration(seconds int) string {
	if seconds%86400 == 0 {
		return fmt.Sprintf("P%dD", seconds/86400)
	}
	return fmt.Sprintf("PT%dS", seconds)
}
