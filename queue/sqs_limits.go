package queue

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// SQS's and SNS's rules for a message, checked before sending so the error
// names what is wrong (the services' own errors do not say which attribute).
// Sources:
//
//   - SQS message size: "The minimum size is one character. The maximum size
//     is 1 MiB or 1,048,576 bytes" (SendMessage's MessageBody,
//     https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html,
//     also aws-sdk-go-v2 service/sqs v1.51.0's SendMessageInput, whose
//     CreateQueue doc gives MaximumMessageSize's default as 1 MiB too). AWS
//     raised it from 256 KiB in 2025 (AWS Compute Blog, "More room to build:
//     serverless services now support payloads up to 1 MB",
//     https://aws.amazon.com/blogs/compute/more-room-to-build-serverless-services-now-support-payloads-up-to-1-mb).
//     A message's attributes (name, type and value) count toward it
//     (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html).
//     A queue whose MaximumMessageSize is lower refuses more on its own,
//     with SQS's error: pulumi-aws v6.83.2 documents the queue's
//     maxMessageSize as 1 KiB to 256 KiB, default 262,144, so the queues
//     providers/aws creates likely take 256 KiB only (read, not observed).
//   - SQS message attributes: at most 10 per message
//     (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html);
//     names of at most 256 characters of A-Za-z0-9 _ - ., not starting with
//     AWS. or Amazon. in any case, not starting or ending with a period,
//     without consecutive periods; name, type and value non-empty; a String
//     value has the body's restrictions (sqs-message-metadata.html, "Message
//     attribute components").
//   - Characters of the body and of String values: #x9 | #xA | #xD | #x20 to
//     #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF (quotas-messages.html,
//     "Message content").
//   - SNS: Publish's Message is UTF-8 of at most 256 KB, 262,144 bytes
//     (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html, also
//     aws-sdk-go-v2 service/sns v1.46.0's PublishInput); attributes have
//     SQS's name rules, count toward the size, and an SQS subscription with
//     raw message delivery takes at most 10 of them: SNS discards a message
//     with more "as client side errors"
//     (https://docs.aws.amazon.com/sns/latest/dg/sns-message-attributes.html).
//     A fanout's subscribers are SQS queues, so a published body must also
//     meet SQS's character rules.
const (
	sqsMaxMessageBytes     = 1 << 20   // 1 MiB
	snsMaxMessageBytes     = 256 << 10 // 256 KiB
	awsMaxAttributes       = 10
	awsMaxAttributeNameLen = 256
	// awsAttributeType is the DataType of every attribute this package
	// sends.
	awsAttributeType = "String"
)

func checkSQSMessage(m Outgoing) error {
	return checkAWSMessage(m, "SQS", sqsMaxMessageBytes,
		"SQS takes at most 10 per message")
}

func checkSNSMessage(m Outgoing) error {
	return checkAWSMessage(m, "SNS", snsMaxMessageBytes,
		"SNS delivers at most 10 to the SQS queues a fanout subscribes with raw message delivery and discards a message with more")
}

func checkAWSMessage(m Outgoing, service string, maxBytes int, tooMany string) error {
	if len(m.Body) == 0 {
		return fmt.Errorf("message body: empty; %s needs at least one character", service)
	}
	if err := checkAWSText(m.Body); err != nil {
		return fmt.Errorf("message body: %w", err)
	}
	names := make([]string, 0, len(m.Attributes))
	for name := range m.Attributes {
		names = append(names, name)
	}
	slices.Sort(names)
	if len(names) > awsMaxAttributes {
		return fmt.Errorf("attributes: %d given (%s); %s", len(names), strings.Join(names, ", "), tooMany)
	}
	size := len(m.Body)
	for _, name := range names {
		v := m.Attributes[name]
		if err := checkAttribute(name, v); err != nil {
			return err
		}
		if err := checkAWSAttributeName(name); err != nil {
			return fmt.Errorf("attribute %q: %w", name, err)
		}
		if v == "" {
			return fmt.Errorf("attribute %q: empty value; %s needs one", name, service)
		}
		if err := checkAWSText([]byte(v)); err != nil {
			return fmt.Errorf("attribute %q: value: %w", name, err)
		}
		size += len(name) + len(awsAttributeType) + len(v)
	}
	if size > maxBytes {
		return fmt.Errorf("message of %d bytes (body %d, attributes %d) is over %s's limit of %d bytes",
			size, len(m.Body), size-len(m.Body), service, maxBytes)
	}
	return nil
}

// checkAWSAttributeName applies SQS's and SNS's rules for attribute names.
func checkAWSAttributeName(name string) error {
	if len(name) > awsMaxAttributeNameLen {
		return fmt.Errorf("name of %d characters; at most %d", len(name), awsMaxAttributeNameLen)
	}
	if i := strings.IndexFunc(name, func(r rune) bool {
		allowed := r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.'
		return !allowed
	}); i >= 0 {
		r, _ := utf8.DecodeRuneInString(name[i:])
		return fmt.Errorf("character %q is not allowed in a name (A-Z a-z 0-9 _ - . only)", r)
	}
	lower := strings.ToLower(name)
	if strings.HasPrefix(lower, "aws.") || strings.HasPrefix(lower, "amazon.") {
		return fmt.Errorf("names starting with AWS. or Amazon. are reserved")
	}
	if strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") {
		return fmt.Errorf("a name may not start or end with a period")
	}
	if strings.Contains(name, "..") {
		return fmt.Errorf("a name may not hold consecutive periods")
	}
	return nil
}

// checkAWSText checks that b is UTF-8 of the characters SQS accepts.
func checkAWSText(b []byte) error {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return fmt.Errorf("not valid UTF-8 at byte %d", i)
		}
		if xmlChar := r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF; !xmlChar {
			return fmt.Errorf("character U+%04X at byte %d is not allowed (SQS accepts #x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD, #x10000-#x10FFFF)", r, i)
		}
		i += size
	}
	return nil
}
