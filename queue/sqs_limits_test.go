package queue

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestAWSMessageLimits(t *testing.T) {
	t.Parallel()

	attrs := func(n int) map[string]string {
		m := make(map[string]string, n)
		for i := range n {
			m[fmt.Sprintf("a%02d", i)] = "v"
		}
		return m
	}
	one := func(name, value string) map[string]string { return map[string]string{name: value} }
	// size is a body that, with attrs' bytes, makes a message of n bytes.
	body := func(n int, a map[string]string) []byte {
		for k, v := range a {
			n -= len(k) + len("String") + len(v)
		}
		return []byte(strings.Repeat("b", n))
	}
	cases := []struct {
		name string
		m    Outgoing
		sqs  string // a part of Send's error on SQS; "" for none
		sns  string // the same on SNS; "" for none
	}{
		{name: "plain", m: Outgoing{Body: []byte(`{"order":42}`), Attributes: one("kind", "order")}},
		{name: "every character class", m: Outgoing{Body: []byte("tab\tnl\ncr\r é 中 \U0001F600 \uFFFD"), Attributes: one("Tenant_Id-2.v1", "é 中 \U0001F600")}},
		{name: "ten attributes", m: Outgoing{Body: []byte("x"), Attributes: attrs(10)}},
		{name: "eleven attributes", m: Outgoing{Body: []byte("x"), Attributes: attrs(11)},
			sqs: "11 given (a00, a01", sns: "raw message delivery"},
		{name: "name of 256", m: Outgoing{Body: []byte("x"), Attributes: one(strings.Repeat("n", 256), "v")}},
		{name: "name of 257", m: Outgoing{Body: []byte("x"), Attributes: one(strings.Repeat("n", 257), "v")},
			sqs: "name of 257 characters", sns: "name of 257 characters"},
		{name: "space in name", m: Outgoing{Body: []byte("x"), Attributes: one("my attr", "v")},
			sqs: `attribute "my attr": character ' '`, sns: `attribute "my attr"`},
		{name: "colon in name", m: Outgoing{Body: []byte("x"), Attributes: one("a:b", "v")}, sqs: `attribute "a:b"`, sns: `attribute "a:b"`},
		{name: "non-ASCII name", m: Outgoing{Body: []byte("x"), Attributes: one("tenänt", "v")}, sqs: `character 'ä'`, sns: `character 'ä'`},
		{name: "AWS. prefix", m: Outgoing{Body: []byte("x"), Attributes: one("AWS.trace", "v")}, sqs: `"AWS.trace": names starting with AWS.`, sns: "reserved"},
		{name: "aws. prefix in any case", m: Outgoing{Body: []byte("x"), Attributes: one("aWs.trace", "v")}, sqs: "reserved", sns: "reserved"},
		{name: "Amazon. prefix", m: Outgoing{Body: []byte("x"), Attributes: one("AMAZON.x", "v")}, sqs: "reserved", sns: "reserved"},
		{name: "AWS without a period", m: Outgoing{Body: []byte("x"), Attributes: one("AWSRegion", "v")}},
		{name: "leading period", m: Outgoing{Body: []byte("x"), Attributes: one(".a", "v")}, sqs: `".a": a name may not start or end`, sns: "start or end"},
		{name: "trailing period", m: Outgoing{Body: []byte("x"), Attributes: one("a.", "v")}, sqs: "start or end", sns: "start or end"},
		{name: "consecutive periods", m: Outgoing{Body: []byte("x"), Attributes: one("a..b", "v")}, sqs: `"a..b": a name may not hold consecutive periods`, sns: "consecutive"},
		{name: "empty name", m: Outgoing{Body: []byte("x"), Attributes: one("", "v")}, sqs: "empty name", sns: "empty name"},
		{name: "empty value", m: Outgoing{Body: []byte("x"), Attributes: one("kind", "")}, sqs: `"kind": empty value`, sns: `"kind": empty value`},
		{name: "control character in value", m: Outgoing{Body: []byte("x"), Attributes: one("kind", "a\x01b")}, sqs: `"kind": control characters`, sns: "control characters"},
		{name: "noncharacter in value", m: Outgoing{Body: []byte("x"), Attributes: one("kind", "a\uFFFEb")}, sqs: `"kind": value: character U+FFFE`, sns: "U+FFFE"},
		{name: "empty body", m: Outgoing{}, sqs: "message body: empty", sns: "message body: empty"},
		{name: "NUL in body", m: Outgoing{Body: []byte("a\x00b")}, sqs: "message body: character U+0000 at byte 1", sns: "U+0000"},
		{name: "body not UTF-8", m: Outgoing{Body: []byte{'a', 0xff}}, sqs: "message body: not valid UTF-8 at byte 1", sns: "not valid UTF-8"},
		{name: "surrogate half in body", m: Outgoing{Body: []byte{0xed, 0xa0, 0x80}}, sqs: "not valid UTF-8", sns: "not valid UTF-8"},
		{name: "256 KiB", m: Outgoing{Body: body(256<<10, nil)}},
		{name: "256 KiB with attributes", m: Outgoing{Body: body(256<<10, one("kind", "order")), Attributes: one("kind", "order")}},
		{name: "over 256 KiB", m: Outgoing{Body: body(256<<10+1, nil)}, sns: "message of 262145 bytes (body 262145, attributes 0) is over SNS's limit of 262144 bytes"},
		{name: "over 256 KiB with attributes", m: Outgoing{Body: body(256<<10+1, one("kind", "order")), Attributes: one("kind", "order")},
			sns: "(body 262130, attributes 15) is over SNS's limit"},
		{name: "1 MiB", m: Outgoing{Body: body(1<<20, nil)}, sns: "over SNS's limit"},
		{name: "over 1 MiB", m: Outgoing{Body: body(1<<20+1, nil)}, sqs: "message of 1048577 bytes (body 1048577, attributes 0) is over SQS's limit of 1048576 bytes", sns: "over SNS's limit"},
		{name: "over 1 MiB with attributes", m: Outgoing{Body: body(1<<20+1, attrs(10)), Attributes: attrs(10)}, sqs: "attributes 100) is over SQS's limit", sns: "over SNS's limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			for _, s := range []struct {
				service, want string
				check         func(Outgoing) error
			}{{"SQS", c.sqs, checkSQSMessage}, {"SNS", c.sns, checkSNSMessage}} {
				err := s.check(c.m)
				switch {
				case s.want == "" && err != nil:
					t.Errorf("%s: %v, want no error", s.service, err)
				case s.want != "" && (err == nil || !strings.Contains(err.Error(), s.want)):
					t.Errorf("%s: error %v, want one holding %q", s.service, err, s.want)
				}
			}
		})
	}
}

func TestSQSMessageConversion(t *testing.T) {
	t.Parallel()

	got := sqsMessage("tf-acme-queue", sqstypes.Message{
		MessageId:     aws.String("m-1"),
		ReceiptHandle: aws.String("rh-1"),
		Body:          aws.String("hello"),
		Attributes:    map[string]string{"ApproximateReceiveCount": "3", "SentTimestamp": "1700000000000"},
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			"kind":  {DataType: aws.String("String"), StringValue: aws.String("order")},
			"count": {DataType: aws.String("Number.int"), StringValue: aws.String("7")},
			"blob":  {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 0xfe}},
		},
	})
	want := Message{
		ID: "m-1", Subject: "tf-acme-queue", Body: []byte("hello"), Deliveries: 3,
		Attributes: map[string]string{"kind": "order", "count": "7", "blob": "AAH+"},
		handle:     sqsReceipt("rh-1"),
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(Message{})); diff != "" {
		t.Errorf("-want +got:\n%s", diff)
	}
	// Without a receive count, Deliveries is 0: the queue does not say.
	got = sqsMessage("q", sqstypes.Message{MessageId: aws.String("m-2"), Body: aws.String("x")})
	if got.Deliveries != 0 || got.Attributes == nil {
		t.Errorf("Deliveries %d, Attributes %v; want 0 and an empty map", got.Deliveries, got.Attributes)
	}
	if diff := cmp.Diff(map[string]string{}, got.Attributes, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("-want +got:\n%s", diff)
	}
}

func TestSQSSeconds(t *testing.T) {
	t.Parallel()

	for _, c := range []struct {
		d          time.Duration
		wait, nack int32
	}{
		{-time.Second, 0, 0},
		{0, 0, 0},
		{time.Millisecond, 1, 1},
		{time.Second, 1, 1},
		{1500 * time.Millisecond, 2, 2},
		{20 * time.Second, 20, 20},
		{21 * time.Second, 20, 21},
		{time.Hour, 20, 3600},
		{12 * time.Hour, 20, 43200},
		{13 * time.Hour, 20, 43200},
	} {
		if got := waitSeconds(c.d); got != c.wait {
			t.Errorf("waitSeconds(%s) = %d, want %d", c.d, got, c.wait)
		}
		if got := visibilitySeconds(c.d); got != c.nack {
			t.Errorf("visibilitySeconds(%s) = %d, want %d", c.d, got, c.nack)
		}
	}
}
