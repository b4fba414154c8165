// Package servicegroup keeps a service's record alive in the service registry
// (heartbeats) and decides whether a service is up, as nova's servicegroup
// "db" driver does.
//
// # Why
//
// A nova service proves it is alive by incrementing report_count and stamping
// last_seen_up every report_interval; the API and the scheduler call a
// service down when that stamp is older than service_down_time. The loop that
// reports must outlive every failure: nova once had a bug where one unexpected
// exception ended the heartbeat thread while the process ran on, leaving a
// "zombie" service that looked dead to everyone. So here:
//
//   - every report runs with its own timeout, and errors and panics are
//     recovered, counted and logged; the loop never ends before Stop;
//   - the first failure logs once that the connection was lost, the first
//     success after failures logs once that it recovered;
//   - a row deleted while the service runs is re-created on the next report
//     (nova logs an error every interval until restart);
//   - every wait selects on stop, Stop is idempotent, cancels the in-flight
//     report and does not wait for the next interval.
//
// Liveness uses the registry's clock: registry.Store.List returns the
// database's now() with the rows and Report stamps last_seen_up with the same
// clock, so IsUp compares two readings of one clock and host clock skew
// cannot make a service look down (nova compares the API host's clock with
// the reporting host's).
//
// Usage: find or create the service's row (registry.FindOrCreate), Join with
// it and Options from nova.conf (report_interval, enable_new_services as
// CreateOptions.DisableNewServices, a Registerer), and Stop the Heartbeat at
// shutdown; the package example does that on the in-memory store.
//
// # Logging
//
//   - error "lost connection to the service registry ..." once at the first
//     failed report after a success (or at start-up); later failures of the
//     same outage log at debug level;
//   - info "recovered: reporting service status again" once at the first
//     success after failures, with the number of failed reports;
//   - error "service status report panicked" with the stack, each time;
//   - warn "service record was deleted while the service ran; re-created it";
//   - warn from EffectiveServiceDownTime when service_down_time is not
//     longer than report_interval.
//
// Records carry host, binary and service_id.
//
// # Metrics
//
//   - gonova_servicegroup_reports_total{binary, outcome="success|failure"}:
//     heartbeat reports; both outcomes exist at zero from Join.
//   - gonova_servicegroup_last_success_timestamp_seconds{binary}: Unix time
//     (local clock) of the last successful report; 0 before the first.
//   - gonova_servicegroup_report_duration_seconds{binary}: how long reports
//     took, whatever their outcome.
//   - gonova_servicegroup_records_recreated_total{binary}: rows re-created
//     because they were deleted while the service ran.
package servicegroup
