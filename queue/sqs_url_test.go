package queue

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSQSURL(t *testing.T) {
	t.Parallel()

	long := strings.Repeat("q", 80)
	cases := []struct {
		name, raw string
		want      sqsURL // Region "" with no error: a local SQS
		err       string // a part of the error; "" for none
	}{
		{name: "standard", raw: "https://sqs.us-east-1.amazonaws.com/123456789012/tf-acme-queue",
			want: sqsURL{Host: "sqs.us-east-1.amazonaws.com", Region: "us-east-1", Account: "123456789012", Name: "tf-acme-queue"}},
		{name: "GovCloud", raw: "https://sqs.us-gov-west-1.amazonaws.com/123456789012/q",
			want: sqsURL{Host: "sqs.us-gov-west-1.amazonaws.com", Region: "us-gov-west-1", Account: "123456789012", Name: "q"}},
		{name: "China", raw: "https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q",
			want: sqsURL{Host: "sqs.cn-north-1.amazonaws.com.cn", Region: "cn-north-1", Account: "123456789012", Name: "q"}},
		{name: "legacy regional", raw: "https://eu-west-1.queue.amazonaws.com/123456789012/q",
			want: sqsURL{Host: "eu-west-1.queue.amazonaws.com", Region: "eu-west-1", Account: "123456789012", Name: "q"}},
		{name: "legacy us-east-1", raw: "https://queue.amazonaws.com/123456789012/q",
			want: sqsURL{Host: "queue.amazonaws.com", Region: "us-east-1", Account: "123456789012", Name: "q"}},
		{name: "host in capitals, port", raw: "https://SQS.eu-central-1.AmazonAWS.com:443/123456789012/q",
			want: sqsURL{Host: "sqs.eu-central-1.amazonaws.com", Region: "eu-central-1", Account: "123456789012", Name: "q"}},
		{name: "FIFO, 80 characters with the suffix", raw: "https://sqs.us-east-1.amazonaws.com/123456789012/" + long[:75] + ".fifo",
			want: sqsURL{Host: "sqs.us-east-1.amazonaws.com", Region: "us-east-1", Account: "123456789012", Name: long[:75] + ".fifo"}},
		{name: "80 characters", raw: "https://sqs.us-east-1.amazonaws.com/123456789012/" + long,
			want: sqsURL{Host: "sqs.us-east-1.amazonaws.com", Region: "us-east-1", Account: "123456789012", Name: long}},
		{name: "goaws", raw: "http://127.0.0.1:4100/100010001000/q",
			want: sqsURL{Host: "127.0.0.1", Account: "100010001000", Name: "q"}},
		{name: "LocalStack", raw: "http://sqs.us-east-1.localhost.localstack.cloud:4566/000000000000/q",
			want: sqsURL{Host: "sqs.us-east-1.localhost.localstack.cloud", Account: "000000000000", Name: "q"}},

		{name: "empty", raw: "", err: "empty"},
		{name: "spaces around", raw: " https://sqs.us-east-1.amazonaws.com/123456789012/q", err: "spaces"},
		{name: "no scheme", raw: "sqs.us-east-1.amazonaws.com/123456789012/q", err: `scheme "" is not https`},
		{name: "other scheme", raw: "sqs://sqs.us-east-1.amazonaws.com/123456789012/q", err: `scheme "sqs"`},
		{name: "not a URL", raw: "https://sqs.us-east-1.amazonaws.com:port/1/q", err: "not a URL"},
		{name: "http to AWS", raw: "http://sqs.us-east-1.amazonaws.com/123456789012/q", err: "https only"},
		{name: "user info", raw: "https://key:secret@sqs.us-east-1.amazonaws.com/123456789012/q", err: "user information"},
		{name: "query", raw: "https://sqs.us-east-1.amazonaws.com/123456789012/q?Action=SendMessage", err: "query"},
		{name: "no name", raw: "https://sqs.us-east-1.amazonaws.com/123456789012", err: "not /<account>/<name>"},
		{name: "trailing slash", raw: "https://sqs.us-east-1.amazonaws.com/123456789012/q/", err: "not /<account>/<name>"},
		{name: "deeper path", raw: "https://sqs.us-east-1.amazonaws.com/x/123456789012/q", err: "not /<account>/<name>"},
		{name: "name characters", raw: "https://sqs.us-east-1.amazonaws.com/123456789012/my.queue", err: `queue name "my.queue"`},
		{name: "name too long", raw: "https://sqs.us-east-1.amazonaws.com/123456789012/" + long + "q", err: "queue name"},
		{name: "FIFO too long", raw: "https://sqs.us-east-1.amazonaws.com/123456789012/" + long[:76] + ".fifo", err: "queue name"},
		{name: "only the suffix", raw: "https://sqs.us-east-1.amazonaws.com/123456789012/.fifo", err: "queue name"},
		{name: "short account", raw: "https://sqs.us-east-1.amazonaws.com/12345/q", err: `account "12345"`},
		{name: "other AWS service", raw: "https://s3.us-east-1.amazonaws.com/123456789012/q", err: `"s3.us-east-1.amazonaws.com" is not an SQS endpoint`},
		{name: "no region", raw: "https://sqs.amazonaws.com/123456789012/q", err: "not an SQS endpoint"},
		{name: "bad region", raw: "https://sqs.useast1.amazonaws.com/123456789012/q", err: `"useast1"`},
		{name: "China region on .com", raw: "https://sqs.cn-north-1.amazonaws.com/123456789012/q", err: "domain"},
		{name: "region on .com.cn", raw: "https://sqs.us-east-1.amazonaws.com.cn/123456789012/q", err: "domain"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseSQSURL(c.raw)
			if c.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), "QUEUE_URL: ") || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one starting QUEUE_URL: and holding %q", err, c.err)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("the error repeats the URL's password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.want.URL = c.raw
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}

func TestParseSNSTopicARN(t *testing.T) {
	t.Parallel()

	long := strings.Repeat("t", 256)
	cases := []struct {
		name, raw string
		want      snsARN
		err       string
	}{
		{name: "standard", raw: "arn:aws:sns:eu-west-1:123456789012:tf-prod-orders",
			want: snsARN{Region: "eu-west-1", Account: "123456789012", Name: "tf-prod-orders"}},
		{name: "China", raw: "arn:aws-cn:sns:cn-northwest-1:123456789012:t",
			want: snsARN{Region: "cn-northwest-1", Account: "123456789012", Name: "t"}},
		{name: "GovCloud", raw: "arn:aws-us-gov:sns:us-gov-east-1:123456789012:t",
			want: snsARN{Region: "us-gov-east-1", Account: "123456789012", Name: "t"}},
		{name: "256 characters", raw: "arn:aws:sns:us-east-1:123456789012:" + long,
			want: snsARN{Region: "us-east-1", Account: "123456789012", Name: long}},

		{name: "empty", raw: "", err: "empty"},
		{name: "a queue URL", raw: "https://sqs.us-east-1.amazonaws.com/123456789012/q", err: "six colon-separated fields"},
		{name: "a subscription ARN", raw: "arn:aws:sns:us-east-1:123456789012:t:5f0c1e2a", err: "six colon-separated fields"},
		{name: "not arn", raw: "urn:aws:sns:us-east-1:123456789012:t", err: "six colon-separated fields"},
		{name: "partition", raw: "arn:gcp:sns:us-east-1:123456789012:t", err: `partition "gcp"`},
		{name: "an SQS ARN", raw: "arn:aws:sqs:us-east-1:123456789012:q", err: `service "sqs"`},
		{name: "no region", raw: "arn:aws:sns::123456789012:t", err: `region ""`},
		{name: "account", raw: "arn:aws:sns:us-east-1:acme:t", err: `account "acme"`},
		{name: "name characters", raw: "arn:aws:sns:us-east-1:123456789012:my topic", err: `topic name "my topic"`},
		{name: "name too long", raw: "arn:aws:sns:us-east-1:123456789012:" + long + "t", err: "topic name"},
		{name: "FIFO", raw: "arn:aws:sns:us-east-1:123456789012:t.fifo", err: "FIFO topic"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseSNSTopicARN(c.raw)
			if c.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), "topic: ") || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one starting topic: and holding %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.want.ARN = c.raw
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}
