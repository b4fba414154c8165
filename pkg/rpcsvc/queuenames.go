package rpcsvc

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/uuid"

	"github.com/gonova/gonova/pkg/rpcsvc/internal/qmanager"
)

// queueNamer names the queues a process makes for itself, as oslo does:
// `reply_<uuid hex>` and `<topic>_fanout_<uuid hex>`; with use_queue_manager
// `reply_<host>:<process>:<n>` and `<topic>_fanout_<host>:<process>:<n>`
// (stable across restarts); with rabbit_stream_fanout the one shared
// `<topic>_fanout` stream of the topic.
type queueNamer struct {
	qm     *qmanager.Manager // nil without use_queue_manager
	stream bool
}

func newQueueNamer(o Options, amqp bool) (queueNamer, error) {
	n := queueNamer{stream: o.StreamFanout && amqp}
	if !o.UseQueueManager {
		return n, nil
	}
	host, proc := o.Hostname, o.ProcessName
	if host == "" {
		h, err := os.Hostname()
		if err != nil {
			return n, fmt.Errorf("rpcsvc: use_queue_manager: the host name: %w", err)
		}
		host = h
	}
	if proc == "" {
		proc = filepath.Base(os.Args[0])
	}
	qm, err := qmanager.New(qmanager.Dir, host, proc)
	if err != nil {
		return n, fmt.Errorf("rpcsvc: use_queue_manager: %w", err)
	}
	n.qm = qm
	return n, nil
}

// unique is the suffix of a new reply or fanout queue.
func (n queueNamer) unique() (string, error) {
	if n.qm == nil {
		return hexUUID(), nil
	}
	return n.qm.Get()
}

func (n queueNamer) replyQueue() (string, error) {
	u, err := n.unique()
	if err != nil {
		return "", err
	}
	return "reply_" + u, nil
}

func (n queueNamer) fanoutQueue(topic string) (string, error) {
	if n.stream {
		return fanoutExchange(topic), nil
	}
	u, err := n.unique()
	if err != nil {
		return "", err
	}
	return topic + "_fanout_" + u, nil
}

// randomFanout tells whether fanout queues get random names, which oslo
// deletes when their server stops (impl_rabbit Connection.close).
func (n queueNamer) randomFanout() bool { return n.qm == nil && !n.stream }

// connectionName is oslo's connection_name client property:
// "<program>:<pid>:<connection uuid>", shown by rabbitmqctl
// list_connections client_properties and the management UI.
func connectionName() string {
	return fmt.Sprintf("%s:%d:%s", filepath.Base(os.Args[0]), os.Getpid(), uuid.NewString())
}
