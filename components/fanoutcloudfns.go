package components

import (
	"errors"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// FanoutCloudFns is a FanoutCloud made of functions, for test doubles that
// implement only what a test needs (as crossplane-runtime's
// ExternalClientFns). A nil ValidateFanoutFn accepts every spec; any other
// nil function returns an error naming it.
type FanoutCloudFns struct {
	ValidateFanoutFn func(spec FanoutSpec) error
	QueueFn          func(ctx *pulumi.Context, name string, in QueueInput, parent pulumi.Resource) (*Queue, error)
	TopicFn          func(ctx *pulumi.Context, name string, in TopicInput, parent pulumi.Resource) (*Topic, error)
	SubscribeFn      func(ctx *pulumi.Context, name string, in SubscriptionInput, parent pulumi.Resource) (*Subscription, error)
}

var _ FanoutCloud = FanoutCloudFns{}

// ValidateFanout calls ValidateFanoutFn, or accepts spec when it is nil.
func (f FanoutCloudFns) ValidateFanout(spec FanoutSpec) error {
	if f.ValidateFanoutFn == nil {
		return nil
	}
	return f.ValidateFanoutFn(spec)
}

// Queue calls QueueFn.
func (f FanoutCloudFns) Queue(ctx *pulumi.Context, name string, in QueueInput, parent pulumi.Resource) (*Queue, error) {
	if f.QueueFn == nil {
		return nil, errors.New("FanoutCloudFns: no QueueFn")
	}
	return f.QueueFn(ctx, name, in, parent)
}

// Topic calls TopicFn.
func (f FanoutCloudFns) Topic(ctx *pulumi.Context, name string, in TopicInput, parent pulumi.Resource) (*Topic, error) {
	if f.TopicFn == nil {
		return nil, errors.New("FanoutCloudFns: no TopicFn")
	}
	return f.TopicFn(ctx, name, in, parent)
}

// Subscribe calls SubscribeFn.
func (f FanoutCloudFns) Subscribe(ctx *pulumi.Context, name string, in SubscriptionInput, parent pulumi.Resource) (*Subscription, error) {
	if f.SubscribeFn == nil {
		return nil, errors.New("FanoutCloudFns: no SubscribeFn")
	}
	return f.SubscribeFn(ctx, name, in, parent)
}
