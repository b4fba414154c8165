package amqpdriver

import (
	"context"
	"fmt"
	"strconv"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/gonova/gonova/pkg/rpcsvc/internal/driver"
)

// PublishAsync implements driver.Driver: the frames go out on a pooled
// confirm-mode channel before it returns, and the channel goes back to the
// pool at once, so that one goroutine can keep many messages in flight;
// Wait awaits the broker's confirm and then looks the message up among the
// channel's returns.
func (d *Driver) PublishAsync(ctx context.Context, p driver.Publishing) driver.Confirm {
	c, err := d.publish(ctx, p)
	if err != nil {
		return driver.Failed{Err: err}
	}
	return &c
}

// publish sends p and returns its confirm, by value: Publish waits for it
// at once, without an allocation for it.
func (d *Driver) publish(ctx context.Context, p driver.Publishing) (confirm, error) {
	pc, err := d.getChannel(ctx)
	if err != nil {
		return confirm{}, err
	}
	if p.Exchange != "" {
		if err := d.declareExchange(pc, p.Exchange, p.ExchangeKind); err != nil {
			d.discardChannel(pc)
			return confirm{}, err
		}
	}
	// No timestamp: nothing reads it (oslo does not set one), and each
	// property costs an encode and a decode per message.
	msg := amqp.Publishing{
		ContentType:     "application/json",
		ContentEncoding: "utf-8",
		DeliveryMode:    amqp.Persistent,
		Body:            p.Body,
	}
	if p.Expiration > 0 {
		msg.Expiration = strconv.FormatInt(p.Expiration.Milliseconds(), 10)
	}
	c := confirm{exchange: p.Exchange, key: p.RoutingKey, rets: pc.rets, mandatory: p.Mandatory}
	if p.Mandatory {
		c.ret = keyOf(p.Exchange, p.RoutingKey, p.Body)
		c.rets.expect(c.ret)
	}
	c.dc, err = pc.ch.PublishWithDeferredConfirmWithContext(ctx, p.Exchange, p.RoutingKey, p.Mandatory, false, msg)
	// Confirms are awaited off the channel so that other publishers can use it.
	d.putChannel(pc)
	if err != nil {
		c.forget()
		return confirm{}, fmt.Errorf("%w: publish: %v", driver.ErrNotConnected, err)
	}
	return c, nil
}

// confirm is one message in flight on a channel.
type confirm struct {
	exchange, key string
	rets          *returns
	mandatory     bool
	ret           returnKey // of a Mandatory publish
	dc            *amqp.DeferredConfirmation
}

func (c *confirm) forget() {
	if c.mandatory {
		c.rets.take(c.ret)
	}
}

// Wait implements driver.Confirm. A channel that closes before the confirm
// (connection lost) completes it as a nack: driver.ErrNotConnected.
func (c *confirm) Wait(ctx context.Context) error {
	acked, err := c.dc.WaitContext(ctx)
	if err != nil {
		if c.mandatory {
			c.rets.abandon(c.ret, c.dc.Done())
		}
		return err
	}
	if !acked {
		c.forget()
		return fmt.Errorf("%w: the broker did not confirm the message to %q/%q (nack or connection lost)", driver.ErrNotConnected, c.exchange, c.key)
	}
	if !c.mandatory {
		return nil
	}
	// A return comes before its confirm on the channel: once the confirm is
	// here, so is the return, if any, in the channel that take drains.
	if reason, returned := c.rets.take(c.ret); returned {
		return &driver.UnroutableError{Exchange: c.exchange, RoutingKey: c.key, Reason: reason}
	}
	return nil
}
