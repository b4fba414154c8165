package rpcsvc

import "fmt"

// Target names where messages go (client) or what a server listens on, as
// oslo_messaging.Target.
//
//	rpcsvc.Target{Topic: "compute", Server: "host1"}     // server: queues compute, compute.host1, compute_fanout
//	rpcsvc.Target{Topic: "compute", Version: "6.0"}      // client: casts/calls to any compute server
type Target struct {
	// Exchange overrides control_exchange.
	Exchange string
	// Topic is required.
	Topic string
	// Namespace selects endpoints (client side).
	Namespace string
	// Version is the requested API version (client side); empty means 1.0.
	Version string
	// Server is the host: a server listens on `<topic>.<server>`; a client
	// sends there.
	Server string
	// Fanout (client side) sends a cast to every server of the topic.
	Fanout bool
}

func (t Target) String() string {
	s := "topic=" + t.Topic
	if t.Server != "" {
		s += " server=" + t.Server
	}
	if t.Namespace != "" {
		s += " namespace=" + t.Namespace
	}
	if t.Version != "" {
		s += " version=" + t.Version
	}
	if t.Fanout {
		s += " fanout"
	}
	return s
}

func (t Target) validate() error {
	if t.Topic == "" {
		return fmt.Errorf("rpcsvc: target has no topic")
	}
	return nil
}

func (t Target) exchange(def string) string {
	if t.Exchange != "" {
		return t.Exchange
	}
	return def
}

func fanoutExchange(topic string) string { return topic + "_fanout" }
