package amqpdriver

import (
	"github.com/gonova/gonova/pkg/internal/amqpurl"
	"github.com/gonova/gonova/pkg/rpcsvc/internal/driver"
)

// Host is one broker of a transport_url.
type Host = amqpurl.Host

// URL is a parsed oslo transport_url for RabbitMQ.
type URL = amqpurl.URL

// ParseURL parses a transport_url (see amqpurl.Parse). Its errors wrap
// driver.ErrPermanent: retrying cannot fix a URL.
func ParseURL(raw string) (URL, error) {
	u, err := amqpurl.Parse(raw)
	return u, driver.Permanent(err)
}
