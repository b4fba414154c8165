package amqpbaseline

import (
	"errors"
	"net"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// conn is an AMQP connection that keeps its socket, so that it can be cut
// when a graceful close cannot proceed: amqp091-go writes are not bounded by a
// context, and a publisher held by the broker's flow control (or a full TCP
// window) would otherwise block past every deadline.
type conn struct {
	*amqp.Connection
	mu  sync.Mutex
	raw net.Conn
}

func dial(url string) (*conn, error) {
	c := &conn{}
	base := amqp.DefaultDial(30 * time.Second)
	ac, err := amqp.DialConfig(url, amqp.Config{
		Heartbeat: 10 * time.Second,
		Locale:    "en_US",
		Dial: func(network, addr string) (net.Conn, error) {
			nc, err := base(network, addr)
			if err == nil {
				c.mu.Lock()
				c.raw = nc
				c.mu.Unlock()
			}
			return nc, err
		},
	})
	if err != nil {
		return nil, err
	}
	c.Connection = ac
	return c, nil
}

// cut closes the socket at once; every pending read and write fails.
func (c *conn) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.raw != nil {
		_ = c.raw.Close()
	}
}

// shut closes the connection gracefully, or cuts it after grace.
func (c *conn) shut(grace time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- c.Close() }()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case err := <-done:
		if errors.Is(err, amqp.ErrClosed) {
			return nil
		}
		return err
	case <-t.C:
		c.cut()
		<-done
		return errors.New("amqpbaseline: connection did not close within " + grace.String() + "; socket cut")
	}
}
