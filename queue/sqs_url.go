package queue

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// sqsURL is a parsed QUEUE_URL (or DEAD_LETTER_QUEUE_URL) on AWS.
type sqsURL struct {
	URL     string // as given, the QueueUrl of every call
	Host    string
	Region  string // from an AWS host; "" for a local SQS
	Account string
	Name    string
}

// FIFO reports whether the queue is a FIFO queue.
func (u sqsURL) FIFO() bool { return strings.HasSuffix(u.Name, ".fifo") }

// The forms of AWS names, from the SQS and SNS API references: a queue name
// has 1 to 80 characters (CreateQueue's QueueName), a topic name 1 to 256
// (CreateTopic's Name), both of A-Za-z0-9_- with a ".fifo" suffix for FIFO
// ones; an account id has 12 digits.
var (
	awsRegionRE    = regexp.MustCompile(`^[a-z]{2,4}(-[a-z]+)+-[0-9]+$`)
	awsAccountRE   = regexp.MustCompile(`^[0-9]{12}$`)
	awsPartitionRE = regexp.MustCompile(`^aws(-[a-z]+)*$`)
	awsNameRE      = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	// sqsHostRE matches SQS's hosts, sqs.<region>.amazonaws.com and the
	// legacy <region>.queue.amazonaws.com, in both partitions' domains.
	sqsHostRE = regexp.MustCompile(`^(?:sqs\.([a-z0-9-]+)|([a-z0-9-]+)\.queue)\.amazonaws\.com(?:\.cn)?$`)
)

const (
	sqsMaxQueueName = 80
	snsMaxTopicName = 256
)

// validAWSName checks a queue or topic name: A-Za-z0-9_- and an optional
// ".fifo" suffix, which counts toward maxLen.
func validAWSName(name string, maxLen int) bool {
	base, _ := strings.CutSuffix(name, ".fifo")
	return len(name) <= maxLen && awsNameRE.MatchString(base)
}

// parseSQSURL parses QUEUE_URL: https://sqs.<region>.amazonaws.com/<account>/<name>
// (also .amazonaws.com.cn and the legacy <region>.queue.amazonaws.com;
// queue.amazonaws.com is the legacy us-east-1), or a local SQS's URL on any
// other host, http or https, whose region the SDK configuration gives.
func parseSQSURL(raw string) (sqsURL, error) {
	const want = "https://sqs.<region>.amazonaws.com/<account>/<name>"
	bad := func(why string) (sqsURL, error) {
		return sqsURL{}, fmt.Errorf("%s: %s (want %s)", EnvQueueURL, why, want)
	}
	if strings.TrimSpace(raw) == "" {
		return bad("empty")
	}
	if strings.TrimSpace(raw) != raw {
		return bad("leading or trailing spaces")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("not a URL")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return bad(fmt.Sprintf("scheme %q is not https", u.Scheme))
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return bad("no host")
	}
	if u.User != nil {
		return bad("user information is not allowed")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return bad("a query or fragment is not allowed")
	}
	host := strings.ToLower(u.Hostname())
	out := sqsURL{URL: raw, Host: host}
	parts := strings.Split(strings.TrimPrefix(u.Path, "/"), "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return bad(fmt.Sprintf("path %q is not /<account>/<name>", u.Path))
	}
	out.Account, out.Name = parts[0], parts[1]
	if !validAWSName(out.Name, sqsMaxQueueName) {
		return bad(fmt.Sprintf("queue name %q: want 1 to 80 characters of A-Z a-z 0-9 _ - (and .fifo at the end of a FIFO queue's)", out.Name))
	}
	if !awsHost(host) {
		return out, nil // a local SQS
	}
	if u.Scheme != "https" {
		return bad("AWS's SQS endpoints take https only")
	}
	switch m := sqsHostRE.FindStringSubmatch(host); {
	case host == "queue.amazonaws.com":
		out.Region = "us-east-1"
	case m == nil:
		return bad(fmt.Sprintf("host %q is not an SQS endpoint", host))
	default:
		out.Region = m[1] + m[2]
	}
	if !awsRegionRE.MatchString(out.Region) {
		return bad(fmt.Sprintf("%q in host %q is not a region", out.Region, host))
	}
	if strings.HasSuffix(host, ".cn") != strings.HasPrefix(out.Region, "cn-") {
		return bad(fmt.Sprintf("region %s does not belong to the domain of host %q", out.Region, host))
	}
	if !awsAccountRE.MatchString(out.Account) {
		return bad(fmt.Sprintf("account %q is not a 12-digit AWS account id", out.Account))
	}
	return out, nil
}

// snsARN is a parsed SNS topic ARN.
type snsARN struct {
	ARN     string
	Region  string
	Account string
	Name    string
}

// parseSNSTopicARN parses a fanout's topicId on AWS,
// arn:<partition>:sns:<region>:<account>:<name>.
func parseSNSTopicARN(raw string) (snsARN, error) {
	const want = "arn:aws:sns:<region>:<account>:<name>"
	bad := func(why string) (snsARN, error) {
		return snsARN{}, fmt.Errorf("topic: %s (want an SNS topic ARN, %s)", why, want)
	}
	if strings.TrimSpace(raw) == "" {
		return bad("empty")
	}
	p := strings.Split(raw, ":")
	if len(p) != 6 || p[0] != "arn" {
		return bad(fmt.Sprintf("%q is not an ARN of six colon-separated fields", raw))
	}
	if !awsPartitionRE.MatchString(p[1]) {
		return bad(fmt.Sprintf("partition %q is not an AWS partition", p[1]))
	}
	if p[2] != "sns" {
		return bad(fmt.Sprintf("service %q is not sns", p[2]))
	}
	if !awsRegionRE.MatchString(p[3]) {
		return bad(fmt.Sprintf("region %q is not a region", p[3]))
	}
	if !awsAccountRE.MatchString(p[4]) {
		return bad(fmt.Sprintf("account %q is not a 12-digit AWS account id", p[4]))
	}
	if !validAWSName(p[5], snsMaxTopicName) {
		return bad(fmt.Sprintf("topic name %q: want 1 to 256 characters of A-Z a-z 0-9 _ -", p[5]))
	}
	if strings.HasSuffix(p[5], ".fifo") {
		return bad(fmt.Sprintf("%q is a FIFO topic; tenantfleet's fanouts are standard topics and this client does not send message group ids", p[5]))
	}
	return snsARN{ARN: raw, Region: p[3], Account: p[4], Name: p[5]}, nil
}

// awsHost reports whether host is one of AWS's own (amazonaws.com and its
// China form), where queue URLs must have one of SQS's forms.
func awsHost(host string) bool {
	host = strings.ToLower(host)
	return host == "amazonaws.com" || host == "amazonaws.com.cn" ||
		strings.HasSuffix(host, ".amazonaws.com") || strings.HasSuffix(host, ".amazonaws.com.cn")
}
