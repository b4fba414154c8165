package manager

import (
	"errors"
	"fmt"
	"time"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/prometheus/client_golang/prometheus"
)

// Build outcomes, the label values of gonova_compute_builds_total.
const (
	buildSuccess   = "success"   // the instance is active
	buildFailure   = "failure"   // the instance was put in vm_state error
	buildDuplicate = "duplicate" // already built or being built: nothing done
	buildAborted   = "aborted"   // deleted before or during the build
)

var buildOutcomes = []string{buildSuccess, buildFailure, buildDuplicate, buildAborted}

// Driver call names, the label values of
// gonova_compute_driver_call_duration_seconds.
const (
	callInitHost          = "init_host"
	callSpawn             = "spawn"
	callDestroy           = "destroy"
	callReboot            = "reboot"
	callPowerOff          = "power_off"
	callPowerOn           = "power_on"
	callPause             = "pause"
	callUnpause           = "unpause"
	callSuspend           = "suspend"
	callResume            = "resume"
	callGetInfo           = "get_info"
	callGetConsoleOutput  = "get_console_output"
	callGetDiagnostics    = "get_diagnostics"
	callGetAvailableRes   = "get_available_resource"
	callListInstanceUUIDs = "list_instance_uuids"
)

type metrics struct {
	instances     *prometheus.GaugeVec
	builds        *prometheus.CounterVec
	driverCall    *prometheus.HistogramVec
	buildTimeouts *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		instances: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gonova_compute_instances",
			Help: "Instances on this compute host by vm_state, as the database said at the last update_available_resource.",
		}, []string{"vm_state"}),
		builds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gonova_compute_builds_total",
			Help: "build_and_run_instance requests handled, by outcome (success, failure, duplicate, aborted).",
		}, []string{"outcome"}),
		driverCall: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gonova_compute_driver_call_duration_seconds",
			Help:    "Duration of virt driver calls made by the compute manager, by call.",
			Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5, 30, 120, 600},
		}, []string{"call"}),
		buildTimeouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gonova_compute_build_timeouts_total",
			Help: "Instances of this host found building longer than instance_build_timeout by _check_instance_build_time, by outcome (error: set to error with a fault; changed: moved on meanwhile, left alone).",
		}, []string{"outcome"}),
	}
	for _, o := range []string{sweepError, sweepChanged} {
		m.buildTimeouts.WithLabelValues(o)
	}
	// nova's vm states are created at zero; any other value counts as "other".
	for _, s := range states.VMStates() {
		m.instances.WithLabelValues(string(s))
	}
	m.instances.WithLabelValues("other")
	for _, o := range buildOutcomes {
		m.builds.WithLabelValues(o)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.instances, m.builds, m.driverCall, m.buildTimeouts} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, fmt.Errorf("compute manager: metrics already registered (one manager per registry): %w", err)
			}
			return nil, fmt.Errorf("compute manager: registering metrics: %w", err)
		}
	}
	return m, nil
}

// observe records one driver call that started at start.
func (m *metrics) observe(call string, start time.Time) {
	m.driverCall.WithLabelValues(call).Observe(time.Since(start).Seconds())
}

// setInstances sets the gauge from counts by vm_state; states not in counts
// go to zero.
func (m *metrics) setInstances(counts map[states.VMState]int) {
	other := 0
	for s, n := range counts {
		if !s.Valid() {
			other += n
		}
	}
	for _, s := range states.VMStates() {
		m.instances.WithLabelValues(string(s)).Set(float64(counts[s]))
	}
	m.instances.WithLabelValues("other").Set(float64(other))
}
