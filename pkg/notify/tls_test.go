package notify

import (
	"context"
	"strings"
	"testing"

	"github.com/gonova/gonova/pkg/config"
)

// [oslo_messaging_rabbit] ssl reaches the notifier and the subscriber: ssl =
// true gives them a TLS configuration, and a CA file that cannot be read
// stops them before any connection (never a plaintext fallback).
func TestFromConfigCarriesTLS(t *testing.T) {
	c := config.Defaults()
	c.Default.TransportURL = "rabbit://guest:guest@127.0.0.1:1/"
	c.Notifications.Driver = []string{"messagingv2"}
	if o := OptionsFromConfig(c, "test"); o.TLS != nil {
		t.Fatal("ssl = false: no TLS config")
	}
	c.Rabbit.SSL = true
	if o, s := OptionsFromConfig(c, "test"), SubscriberConfigFromConfig(c, ""); o.TLS == nil || s.TLS == nil {
		t.Fatal("ssl = true: the notifier and the subscriber get a TLS config")
	}
	c.Rabbit.SSLCAFile = "/nonexistent/gonova-ca.pem"
	ctx := context.Background()
	if n, err := NewNotifier(ctx, OptionsFromConfig(c, "test")); err == nil || !strings.Contains(err.Error(), "ssl_ca_file") {
		if n != nil {
			n.Close()
		}
		t.Fatalf("NewNotifier with an unreadable ssl_ca_file: %v", err)
	}
	if s, err := NewSubscriber(ctx, SubscriberConfigFromConfig(c, "")); err == nil || !strings.Contains(err.Error(), "ssl_ca_file") {
		if s != nil {
			_ = s.Close()
		}
		t.Fatalf("NewSubscriber with an unreadable ssl_ca_file: %v", err)
	}
}
