// Package forward is tenantfleet-forwarder: on DigitalOcean, which has no
// managed pub/sub, it moves every record of a fanout's Kafka topic that
// matches a subscription's filter into the subscriber's queue topic, at least
// once, the way SNS delivers into SQS.
//
// One forwarder runs per subscription, in its own consumer group on the
// fanout topic. For each polled batch it filters on a record header, produces
// the kept records to the queue topic (idempotent producer, acks=all), waits
// for every acknowledgement and only then commits the batch's offsets,
// filtered records included. A crash anywhere re-delivers the uncommitted
// batch; nothing is committed past a record that was not produced.
//
// The environment contract (Usage prints it) is read by LoadConfig; the
// kafka:// URLs are parsed by ParseURL, a thin wrapper of queue.ParseKafkaURL,
// the one parser of them, which the apps' queue client uses too.
package forward
