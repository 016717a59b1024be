package queue

// Tests of the AWS driver's use of the SDK's environment: credentials,
// region and endpoint. They change the process environment (t.Setenv), so
// none runs in parallel; none reaches the network.

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
)

// awsEmptyEnv leaves the SDK nothing to find: no AWS_* variables, config
// and credentials files that do not exist, the instance metadata service off.
func awsEmptyEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "") // restored after the test
			if err := os.Unsetenv(k); err != nil {
				t.Fatal(err)
			}
		}
	}
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

const awsTestTopicARN = "arn:aws:sns:eu-west-1:123456789012:tf-prod-orders"

func openAWSTestTopic(t *testing.T, h hooks) Sender {
	t.Helper()
	topic, err := OpenTopic(t.Context(), TopicConfig{Cloud: CloudAWS, Topic: awsTestTopicARN, hooks: h})
	if err != nil {
		t.Fatalf("OpenTopic: %v", err)
	}
	t.Cleanup(func() { _ = topic.Close() })
	return topic
}

func checkNoAWSCredentialsError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("publish without credentials succeeded")
	}
	for _, want := range []string{"no AWS credentials found", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "aws sso login", "role"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

//nolint:paralleltest // t.Setenv: the AWS SDK reads the process environment
func TestSNSNoCredentials(t *testing.T) {
	awsEmptyEnv(t)
	_, err := openAWSTestTopic(t, hooks{}).Send(t.Context(), Outgoing{Body: []byte("x")})
	checkNoAWSCredentialsError(t, err)
}

// The SDK's own error can quote what a credential_process printed; the
// driver's must not.
//
//nolint:paralleltest // t.Setenv: the AWS SDK reads the process environment
func TestSNSCredentialsErrorHidesSecrets(t *testing.T) {
	awsEmptyEnv(t)
	const secret = "tf-secret-7f3a9c"
	if err := os.WriteFile(os.Getenv("AWS_CONFIG_FILE"), []byte("[default]\ncredential_process = echo "+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The premise: the SDK's error holds the process's output.
	cfg, err := config.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, sdkErr := cfg.Credentials.Retrieve(t.Context()); sdkErr == nil || !strings.Contains(sdkErr.Error(), secret) {
		t.Fatalf("the SDK's error %v does not quote the process output; this test proves nothing", sdkErr)
	}
	_, err = openAWSTestTopic(t, hooks{}).Send(t.Context(), Outgoing{Body: []byte("x")})
	checkNoAWSCredentialsError(t, err)
	if strings.Contains(err.Error(), secret) {
		t.Errorf("the error quotes the credential process's output: %v", err)
	}
}

// An instance metadata service that never answers (what the SDK probes off
// EC2 when nothing else gives credentials) must not hang a publish.
func TestSNSCredentialsTimeout(t *testing.T) {
	awsEmptyEnv(t)
	release := make(chan struct{})
	imds := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(imds.Close)
	t.Cleanup(func() { close(release) }) // runs before imds.Close
	t.Setenv("AWS_EC2_METADATA_DISABLED", "false")
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.URL)

	const timeout = 300 * time.Millisecond
	_, err := openAWSTestTopic(t, hooks{aws: awsHooks{credentialsTimeout: timeout}}).Send(t.Context(), Outgoing{Body: []byte("x")})
	checkNoAWSCredentialsError(t, err)
	if !strings.Contains(err.Error(), "gave up looking after "+timeout.String()) {
		t.Errorf("error %q does not say it gave up after %s", err, timeout)
	}
}

func TestAWSRegionFromURL(t *testing.T) {
	awsEmptyEnv(t)
	t.Setenv("AWS_REGION", "ap-southeast-2") // the URL's region wins
	r, err := OpenReceiver(t.Context(), Config{Cloud: CloudAWS, URL: "https://sqs.eu-central-1.amazonaws.com/123456789012/q"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close() }()
	if got := r.(*sqsQueue).client.Options().Region; got != "eu-central-1" {
		t.Errorf("SQS client region %q, want the URL's eu-central-1", got)
	}
	if got := r.(*sqsQueue).client.Options().AppID; got != "tenantfleet" {
		t.Errorf("SQS client AppID %q, want Config.Name's default, tenantfleet", got)
	}
	topic := openAWSTestTopic(t, hooks{})
	if got := topic.(*snsTopic).client.Options().Region; got != "eu-west-1" {
		t.Errorf("SNS client region %q, want the ARN's eu-west-1", got)
	}
}

func TestSQSLocalEndpoint(t *testing.T) {
	awsEmptyEnv(t)
	c := Config{Cloud: CloudAWS, URL: "http://localhost:4100/100010001000/q"}
	if _, err := OpenReceiver(t.Context(), c); err == nil || !strings.Contains(err.Error(), "QUEUE_URL: localhost is not an AWS SQS host") || !strings.Contains(err.Error(), "AWS_ENDPOINT_URL_SQS") {
		t.Fatalf("no endpoint: %v, want an error naming AWS_ENDPOINT_URL_SQS", err)
	}
	t.Setenv("AWS_ENDPOINT_URL_SQS", "http://localhost:4100")
	if _, err := OpenSender(t.Context(), c); err == nil || !strings.Contains(err.Error(), "AWS_REGION") {
		t.Fatalf("no region: %v, want an error naming AWS_REGION", err)
	}
	t.Setenv("AWS_REGION", "eu-north-1")
	r, err := OpenReceiver(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close() }()
	o := r.(*sqsQueue).client.Options()
	if o.Region != "eu-north-1" || o.BaseEndpoint == nil || *o.BaseEndpoint != "http://localhost:4100" {
		t.Errorf("region %q, endpoint %v; want the configured ones", o.Region, o.BaseEndpoint)
	}
	if _, err := OpenReceiver(t.Context(), Config{Cloud: CloudAWS}); err == nil || err.Error() != "QUEUE_URL: empty (want https://sqs.<region>.amazonaws.com/<account>/<name>)" {
		t.Errorf("empty URL: %v", err)
	}
	if _, err := OpenTopic(t.Context(), TopicConfig{Cloud: CloudAWS, Topic: "https://sqs.us-east-1.amazonaws.com/123456789012/q"}); err == nil || !strings.HasPrefix(err.Error(), "topic: ") {
		t.Errorf("a queue URL as topic: %v", err)
	}
}
