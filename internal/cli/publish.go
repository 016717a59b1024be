package cli

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/tenantfleet/tenantfleet/internal/engine"
)

// publishCommand publishes one message to the stack's fanout topic.
func (a *App) publishCommand() *cobra.Command {
	var (
		f     stackFlags
		data  string
		attrs []string
		id    string
	)
	cmd := &cobra.Command{
		Use:   "publish --stack NAME --data MESSAGE",
		Short: "Publish one message to the stack's fanout topic",
		Long: `Publish sends one message to the topic of the stack's fanout (the stack output
fanout.topicId), so every subscriber receives it once. --attr sets message
attributes (NATS headers on the local cloud), which apps read alongside the body.

Publishing from this command is supported on the local cloud. On AWS publish with
the AWS CLI instead: aws sns publish --topic-arn <fanout.topicId> --message ...

Exit codes: 0 published; 1 the publish failed; 2 usage error or a stack without a
local fanout.`,
		Example: `  tenantfleet publish --stack dev --data '{"type":"account.created","account":"42"}'
  tenantfleet publish --stack dev --data 'hello' --attr event_type=invoice.paid --id evt-0001`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			headers := nats.Header{}
			for _, kv := range attrs {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return usageErrorf("--attr %q: want NAME=VALUE", kv)
				}
				headers.Add(k, v)
			}
			if id != "" {
				headers.Set(jetstream.MsgIDHeader, id)
			}
			report, err := a.stackWithProjectDir(cmd, engine.OpOutputs, engine.StackOptions{Stack: f.stack, ProjectDir: f.projectDir, Backend: f.backend, Verbose: a.verbose})
			if err != nil {
				return err
			}
			fanout, _ := report.Outputs["fanout"].(map[string]any)
			topic, _ := fanout["topicId"].(string)
			if topic == "" {
				return usageErrorf("stack %s has no fanout: set tenantfleet:fanout in Pulumi.%s.yaml and run up", f.stack, f.stack)
			}
			seq, err := publish(cmd.Context(), topic, []byte(data), headers)
			if err != nil {
				return err
			}
			if f.json {
				return writeJSON(a.Stdout, map[string]any{"stack": f.stack, "topic": topic, "sequence": seq})
			}
			notef(a.Stderr, "published %d bytes to %s (sequence %d)\n", len(data), topicName(topic), seq)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&data, "data", "", "the message body (required)")
	cmd.Flags().StringArrayVar(&attrs, "attr", nil, "a message attribute NAME=VALUE (repeatable)")
	cmd.Flags().StringVar(&id, "id", "", "a message id: a second publish with the same id within two minutes is dropped as a duplicate")
	_ = cmd.MarkFlagRequired("data")
	return cmd
}

// publish sends data to the local cloud topic addressed by topicURL
// (nats://127.0.0.1:PORT?stream=S&subject=SUBJ) and returns its stream sequence.
func publish(ctx context.Context, topicURL string, data []byte, headers nats.Header) (uint64, error) {
	u, err := url.Parse(topicURL)
	if err != nil || u.Scheme != "nats" || u.Query().Get("subject") == "" {
		return 0, usageErrorf("the fanout topic %q is not a local cloud topic: publish to it with the cloud's own tools", topicURL)
	}
	nc, err := nats.Connect("nats://"+u.Host, nats.Timeout(5*time.Second), nats.Name("tenantfleet publish"))
	if err != nil {
		return 0, failedErrorf("connect to the local cloud's NATS at %s (is it running? tenantfleet local status): %v", u.Host, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return 0, failedErrorf("JetStream: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ack, err := js.PublishMsg(ctx, &nats.Msg{Subject: u.Query().Get("subject"), Data: data, Header: headers})
	if err != nil {
		return 0, failedErrorf("publish to %s: %v", u.Query().Get("subject"), err)
	}
	return ack.Sequence, nil
}

// topicName is the subject of a local topic URL, for messages.
func topicName(topicURL string) string {
	if u, err := url.Parse(topicURL); err == nil && u.Query().Get("subject") != "" {
		return u.Query().Get("subject")
	}
	return topicURL
}
