package notify_test

import (
	"context"
	"log"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/gonova/gonova/pkg/config"
	"github.com/gonova/gonova/pkg/notify"
	"github.com/gonova/gonova/pkg/rpcsvc"
)

// A service sends nova's notifications as nova.conf says.
func ExampleNotifier() {
	cfg := config.Defaults()
	ctx := context.Background()
	n, err := notify.NewNotifier(ctx, notify.OptionsFromConfig(cfg, "compute."+cfg.Default.Host))
	if err != nil {
		log.Fatal(err)
	}
	defer n.Close()
	ctx = rpcsvc.NewContext(ctx, rpcsvc.Context{RequestID: "req-1", ProjectID: "p1"})
	_ = n.Info(ctx, "compute.instance.create.end", map[string]string{"instance_id": "i-1"})
}

// A listener in pool "billing" handles instance notifications.
func ExampleListener() {
	ctx := context.Background()
	sub, err := notify.NewSubscriber(ctx, notify.SubscriberConfig{TransportURL: "rabbit://guest:guest@127.0.0.1:5672/", Pool: "billing"})
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close()
	l, err := notify.NewListener(sub, []string{"notifications"}, notify.Endpoint{
		Filter: notify.MustFilter(notify.FilterRules{EventType: `^compute\.instance\.`}),
		Handlers: map[notify.Priority]notify.Handler{
			notify.Info: func(ctx context.Context, n *notify.Notification) notify.Result {
				log.Printf("%s from %s: %s", n.EventType, n.PublisherID, n.Payload)
				return notify.Handled
			},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := l.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer l.Stop()
}

// nova's notifications through watermill's Router and middleware.
func ExampleSubscriber_router() {
	ctx := context.Background()
	sub, err := notify.NewSubscriber(ctx, notify.SubscriberConfig{TransportURL: "rabbit://guest:guest@127.0.0.1:5672/", Pool: "audit"})
	if err != nil {
		log.Fatal(err)
	}
	router, err := message.NewRouter(message.RouterConfig{}, watermill.NopLogger{})
	if err != nil {
		log.Fatal(err)
	}
	router.AddMiddleware(middleware.Recoverer)
	router.AddConsumerHandler("audit", "notifications.info", sub, func(m *message.Message) error {
		log.Printf("%s %s", m.Metadata.Get(notify.MetaEventType), m.Payload)
		return nil // acked; an error nacks: the broker redelivers it
	})
	_ = router.Run(ctx)
}
