package amqpdriver

import (
	"fmt"
	"time"
)

// Heartbeat is oslo's heartbeat_timeout_threshold and heartbeat_rate.
//
// oslo (kombu, py-amqp) proposes heartbeat_timeout_threshold as the AMQP
// heartbeat, so the connection runs with min(threshold, the broker's
// heartbeat) and RabbitMQ closes it after two silent intervals. The client
// side declares the broker dead when nothing arrived for two intervals,
// checked heartbeat_rate times per half threshold. gonova proposes the same
// value (the same wire effect), and amqp091-go checks continuously (a read
// deadline of 1.5 intervals, reset by every frame), so a silent broker is
// detected within 1.5 intervals whatever heartbeat_rate is: the rate is
// accepted and validated but changes nothing a broker can see.
//
// Timeout 0 disables heartbeats as py-amqp does: tune-ok carries 0 (see
// amqpurl.DialOptions.Heartbeat, which the notification connections share).
type Heartbeat struct {
	Timeout time.Duration // heartbeat_timeout_threshold; 0 disables
	Rate    int           // heartbeat_rate (oslo's default 3; 14.0.3's 2)
}

// DefaultHeartbeatRate is heartbeat_rate's default in the newest oslo.
const DefaultHeartbeatRate = 3

// Validate refuses what oslo refuses.
func (h Heartbeat) Validate() error {
	if h.Timeout < 0 {
		return fmt.Errorf("heartbeat_timeout_threshold must not be negative, got %s", h.Timeout)
	}
	if h.Rate < 1 {
		return fmt.Errorf("heartbeat_rate must be at least 1, got %d", h.Rate)
	}
	return nil
}
