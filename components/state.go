package components

import "fmt"

// DatabaseState returns the state cloud's adapter left in a database it
// made, for that adapter's own use: an error when there is no database or
// another adapter made it.
func DatabaseState[T any](db *Database, cloud string) (T, error) {
	if db == nil {
		return stateOf[T](nil, cloud, "database", false)
	}
	return stateOf[T](db.State, cloud, "database", true)
}

// QueueState returns the state cloud's adapter left in a queue it made: see
// DatabaseState.
func QueueState[T any](q *Queue, cloud string) (T, error) {
	if q == nil {
		return stateOf[T](nil, cloud, "queue", false)
	}
	return stateOf[T](q.State, cloud, "queue", true)
}

// TopicState returns the state cloud's adapter left in a topic it made: see
// DatabaseState.
func TopicState[T any](t *Topic, cloud string) (T, error) {
	if t == nil {
		return stateOf[T](nil, cloud, "topic", false)
	}
	return stateOf[T](t.State, cloud, "topic", true)
}

// stateOf asserts an adapter's state to its own type T.
func stateOf[T any](state any, cloud, piece string, present bool) (T, error) {
	var zero T
	if !present {
		return zero, fmt.Errorf("%s: no %s", cloud, piece)
	}
	s, ok := state.(T)
	if !ok {
		return zero, fmt.Errorf("%s: the %s was not made by the %s adapter", cloud, piece, cloud)
	}
	return s, nil
}
