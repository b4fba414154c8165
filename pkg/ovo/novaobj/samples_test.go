package novaobj

import "time"

var ts = time.Date(2026, 12, 1, 8, 30, 15, 0, time.UTC)

func flavorSample() *FlavorPayload {
	return &FlavorPayload{FlavorID: Ptr("42"), MemoryMB: Ptr[int64](512), VCPUs: Ptr[int64](1), RootGB: Ptr[int64](1),
		EphemeralGB: Ptr[int64](0), Name: "m1.tiny", Swap: 0, RxtxFactor: Ptr(1.0), VCPUWeight: Ptr[int64](0),
		IsPublic: true, ExtraSpecs: map[string]string{"hw:cpu_policy": "shared"}, Projects: []string{"p"}}
}

func instanceSample() InstancePayload {
	return InstancePayload{UUID: "7bc9a3f0-9c76-4b4a-9d1e-0f5a3e3c0b12", UserID: Ptr("u"), TenantID: Ptr("p"),
		ReservationID: Ptr("r-1"), DisplayName: Ptr("vm"), HostName: Ptr("vm"), Host: Ptr("compute-1"),
		Node: Ptr("fake-node"), AvailabilityZone: Ptr("nova"), Flavor: flavorSample(),
		ImageUUID: Ptr("8bc9a3f0-9c76-4b4a-9d1e-0f5a3e3c0b13"), KernelID: Ptr(""), RamdiskID: Ptr(""),
		CreatedAt: &ts, LaunchedAt: &ts, UpdatedAt: &ts, State: Ptr("active"), PowerState: Ptr("running"),
		Progress: Ptr[int64](0),
		IPAddresses: []*IpPayload{{Label: "private", MAC: "fa:16:3e:00:00:01", Meta: map[string]string{},
			PortUUID: Ptr("9bc9a3f0-9c76-4b4a-9d1e-0f5a3e3c0b14"), Version: 4, Address: "10.0.0.3", DeviceName: Ptr("tap0")}},
		BlockDevices: []*BlockDevicePayload{{DeviceName: Ptr("/dev/vda"), BootIndex: Ptr[int64](0),
			DeleteOnTermination: true, VolumeID: "abc9a3f0-9c76-4b4a-9d1e-0f5a3e3c0b15"}},
		Metadata: map[string]string{"a": "b"}, AutoDiskConfig: "MANUAL", RequestID: Ptr("req-1"),
		ActionInitiatorUser: Ptr("u"), ActionInitiatorProject: Ptr("p")}
}

func faultSample() *ExceptionPayload {
	return &ExceptionPayload{ModuleName: "nova.compute.manager", FunctionName: "_build_and_run_instance",
		Exception: "BuildAbortException", ExceptionMessage: "boom", Traceback: "Traceback (most recent call last): ..."}
}

func actionSample() *InstanceActionPayload {
	return &InstanceActionPayload{InstancePayload: instanceSample(), Fault: faultSample()}
}

// samples has one full value of every class, and one with every nullable field null.
func samples() []any {
	return []any{
		&NotificationPublisher{Host: "compute-1", Source: SourceCompute},
		&EventType{Object: "instance", Action: ActionCreate, Phase: Ptr(PhaseEnd)},
		&EventType{Object: "service", Action: ActionUpdate},
		&ServiceStatusPayload{Host: Ptr("compute-1"), Binary: Ptr("nova-compute"), Topic: Ptr("compute"), ReportCount: 42,
			DisabledReason: Ptr("maintenance"), Disabled: true, AvailabilityZone: Ptr("nova"), LastSeenUp: &ts,
			Version: 64, UUID: "6bc9a3f0-9c76-4b4a-9d1e-0f5a3e3c0b11"},
		&ServiceStatusPayload{UUID: "6bc9a3f0-9c76-4b4a-9d1e-0f5a3e3c0b11"},
		flavorSample(),
		&FlavorPayload{Name: "empty"},
		faultSample(),
		&KeypairPayload{UserID: Ptr("u"), Name: "k", Fingerprint: Ptr("aa:bb"), PublicKey: Ptr("ssh-ed25519 AAAA"), Type: "ssh"},
		&BlockDevicePayload{VolumeID: "abc9a3f0-9c76-4b4a-9d1e-0f5a3e3c0b15"},
		&IpPayload{Label: "v6", MAC: "fa:16:3e:00:00:02", Version: 6, Address: "2001:db8::5"},
		func() *InstancePayload { p := instanceSample(); return &p }(),
		actionSample(),
		&InstanceActionPayload{InstancePayload: InstancePayload{UUID: "7bc9a3f0-9c76-4b4a-9d1e-0f5a3e3c0b12", Flavor: &FlavorPayload{Name: "x"}, AutoDiskConfig: "AUTO"}},
		&InstanceCreatePayload{InstanceActionPayload: *actionSample(), Keypairs: []*KeypairPayload{{Name: "k", Type: "ssh"}},
			Tags: []string{"t1"}, TrustedImageCertificates: []string{"c"}, InstanceName: Ptr("instance-00000001")},
		&InstanceStateUpdatePayload{OldState: Ptr("building"), State: Ptr("active")},
		&AuditPeriodPayload{AuditPeriodBeginning: ts, AuditPeriodEnding: ts.Add(time.Hour)},
		&InstanceUpdatePayload{InstancePayload: instanceSample(), StateUpdate: &InstanceStateUpdatePayload{},
			AuditPeriod: &AuditPeriodPayload{AuditPeriodBeginning: ts, AuditPeriodEnding: ts}, OldDisplayName: Ptr("old"), Tags: []string{}},
	}
}
