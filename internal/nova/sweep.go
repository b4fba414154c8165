package nova

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/pkg/launcher"
	"github.com/gonova/gonova/pkg/service/periodic"
)

// buildRequestSweep is the name of nova-api's periodic task and service.
const buildRequestSweep = "_fail_unclaimed_builds"

// NewBuildRequestSweep is nova-api's periodic task over the instances it
// accepted: every min(60 s, build_request_timeout / 2) it fails those still
// in task_state scheduling build_request_timeout after creation
// (computeapi.API.FailUnclaimedBuilds). Every API worker runs it; the
// updates are compare-and-set, so they never fail an instance twice nor one
// a compute took. It returns nil when the option is 0.
//
// Its counter is gonova_api_build_request_timeouts_total{outcome}: error
// (failed) and changed (moved on meanwhile), at zero from the start; the
// task has the periodic package's series too.
func (a *App) NewBuildRequestSweep(rpc computeapi.ComputeRPC) (launcher.Service, error) {
	timeout := a.Cfg.Gonova.BuildRequestTimeout
	if timeout <= 0 {
		return nil, nil
	}
	capi, err := a.newComputeAPI(rpc)
	if err != nil {
		return nil, err
	}
	swept := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gonova_api_build_request_timeouts_total",
		Help: "Instances nova-api found still scheduling build_request_timeout after creation, by outcome (error: set to error with a fault; changed: a compute took them, or they were deleted, meanwhile).",
	}, []string{"outcome"})
	for _, o := range []string{"error", "changed"} {
		swept.WithLabelValues(o)
	}
	if a.Metrics != nil {
		if err := a.Metrics.Register(swept); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, fmt.Errorf("registering the build request sweep's metrics: %w", err)
			}
			swept = are.ExistingCollector.(*prometheus.CounterVec)
		}
	}
	var ts periodic.Tasks
	ts.Add(buildRequestSweep, func(ctx context.Context) error {
		res, err := capi.FailUnclaimedBuilds(ctx, timeout, time.Now())
		swept.WithLabelValues("error").Add(float64(res.Failed))
		swept.WithLabelValues("changed").Add(float64(res.Changed))
		return err
	}, periodic.Spacing(max(min(periodic.DefaultSpacing, timeout/2), time.Second)))
	popts := periodic.DefaultOptions()
	popts.Enable = a.Cfg.Default.PeriodicEnable
	popts.FuzzyDelay = a.Cfg.Default.PeriodicFuzzyDelay
	popts.IntervalMax = a.Cfg.Default.PeriodicIntervalMax
	popts.Logger = a.Log
	var reg prometheus.Registerer = prometheus.NewRegistry() // a runtime without metrics
	if a.Metrics != nil {
		reg = a.Metrics
	}
	r, err := ts.Setup(reg, popts)
	if err != nil {
		return nil, err
	}
	return launcher.Func(buildRequestSweep, r.Run), nil
}
